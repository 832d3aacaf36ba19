// Command sbom writes the CycloneDX SBOM (JSON) of one platform's image,
// for //tools/oci's image rules (go/tools/sbom says what is in it):
//
//	sbom -name bookstore/recommendations -layout DIR -binary /usr/local/bin/recommendations \
//	  -packages FILE -go-version 1.26.8 -gomod go.mod \
//	  [-origin /etc/ssl/certs/ca-certificates.crt=golang.org/x/crypto/x509roots/fallback] -out FILE
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"golang.org/x/mod/modfile"

	"github.com/onlinebooks/bookstore/go/tools/ocilayout"
	"github.com/onlinebooks/bookstore/go/tools/sbom"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sbom", flag.ContinueOnError)
	var in sbom.Input
	fs.StringVar(&in.Name, "name", "", "the image's repository name")
	layoutDir := fs.String("layout", "", "the image: an OCI layout holding one image manifest")
	fs.StringVar(&in.Binary, "binary", "", "the Go binary's path in the image")
	packages := fs.String("packages", "", "a file of the import paths linked into the binary, one a line")
	fs.StringVar(&in.GoVersion, "go-version", "", "the Go toolchain's version")
	gomod := fs.String("gomod", "", "the main module's go.mod")
	in.Origins = make(map[string]string)
	fs.Func("origin", "FILE=MODULE: a file of the image made from that module of go.mod (repeatable)", func(v string) error {
		file, mod, ok := strings.Cut(v, "=")
		if !ok {
			return errors.New("want FILE=MODULE")
		}
		in.Origins[file] = mod
		return nil
	})
	out := fs.String("out", "", "where to write the SBOM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for name, v := range map[string]string{"name": in.Name, "layout": *layoutDir, "binary": in.Binary,
		"packages": *packages, "go-version": in.GoVersion, "gomod": *gomod, "out": *out} {
		if v == "" {
			return fmt.Errorf("-%s is required", name)
		}
	}

	dir, err := os.MkdirTemp("", "layout")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := ocilayout.Copy(dir, *layoutDir); err != nil {
		return err
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	if len(m.Manifests) != 1 {
		return fmt.Errorf("%s: %d manifests, want one image", *layoutDir, len(m.Manifests))
	}
	if in.Image, err = idx.Image(m.Manifests[0].Digest); err != nil {
		return err
	}
	list, err := os.ReadFile(*packages)
	if err != nil {
		return err
	}
	in.Packages = strings.Fields(string(list))
	b, err := os.ReadFile(*gomod)
	if err != nil {
		return err
	}
	if in.GoMod, err = modfile.Parse(*gomod, b, nil); err != nil {
		return err
	}

	bom, err := sbom.Build(in)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}
