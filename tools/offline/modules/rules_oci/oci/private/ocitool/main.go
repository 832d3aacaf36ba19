// Command ocitool stands in for the tools rules_oci's scripts run (crane,
// regctl, jq, bsdtar): it builds OCI image layouts as image.sh does and
// image index layouts as image_index.sh.tpl does, prints a layout's digest,
// writes oci_load's tarball, and pushes and tags as crane does for
// push.sh.tpl. Each behaviour names the upstream line it
// follows; //conformance holds the tests that keep them so.
//
//	ocitool image        -out DIR [-symlinks] [-base DIR] [-tar FILE -owner LABEL]...
//	                     [-entrypoint FILE] [-env FILE] [-labels FILE] [-exposed-ports FILE]
//	                     [-user U] [-workdir W] [-os OS -architecture ARCH [-variant V]]
//	ocitool index        -out DIR -image DIR...
//	ocitool index-digest DIR
//	ocitool tarball      -image DIR -repo-tags FILE [-out FILE]
//	ocitool push         DIR REPOSITORY@DIGEST [--image-refs FILE] [--insecure]
//	ocitool tag          IMAGE TAG [--insecure]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ocitool image|index|index-digest|tarball|push|tag [flags]")
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"image":        imageCmd,
		"index":        indexCmd,
		"index-digest": indexDigestCmd,
		"tarball":      tarballCmd,
		"push":         pushCmd,
		"tag":          tagCmd,
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "ocitool: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	err := cmd(os.Args[2:])
	for _, dir := range temps {
		os.RemoveAll(dir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ocitool %s: %v\n", os.Args[1], err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// listFlag collects a flag given several times.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
