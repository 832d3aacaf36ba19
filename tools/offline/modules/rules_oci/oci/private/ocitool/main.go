// Command ocitool does the work behind the stand-in's rules: it builds OCI
// image layouts, writes their digest and a docker-archive tarball, loads them
// into a Docker engine and pushes them to a registry. Everything is
// go-containerregistry; this file only maps the rules' arguments onto it.
//
//	ocitool image   -out DIR [-base DIR] [-tar FILE]... [-entrypoint FILE] [-env FILE]
//	                [-labels FILE] [-exposed-ports FILE] [-user U] [-workdir W] [-os OS] [-architecture ARCH]
//	ocitool digest  -image DIR -out FILE
//	ocitool tarball -image DIR -repo-tags FILE -out FILE
//	ocitool load    -image DIR -repo-tags FILE
//	ocitool push    -image DIR [-repository R] [-remote-tags FILE] [-r R] [-t TAG]...
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ocitool image|digest|tarball|load|push [flags]")
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"image":   imageCmd,
		"digest":  digestCmd,
		"tarball": tarballCmd,
		"load":    loadCmd,
		"push":    pushCmd,
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
