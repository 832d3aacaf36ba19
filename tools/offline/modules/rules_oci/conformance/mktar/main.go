// Command mktar writes a small, reproducible layer tar for the conformance
// fixtures: one file, root-owned, at the Unix epoch; gzipped with -gzip.
package main

import (
	"archive/tar"
	"compress/gzip"
	"flag"
	"io"
	"log"
	"os"
	"time"
)

func main() {
	out := flag.String("out", "", "the tar to write")
	name := flag.String("name", "hello.txt", "the one file's path in the tar")
	body := flag.String("body", "hello\n", "its contents")
	gz := flag.Bool("gzip", false, "gzip the tar")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := io.Writer(f)
	var zw *gzip.Writer
	if *gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	tw := tar.NewWriter(w)
	h := &tar.Header{Name: *name, Mode: 0o644, Size: int64(len(*body)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(h); err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(tw, *body); err != nil {
		log.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		log.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
