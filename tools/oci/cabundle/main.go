// Command cabundle prints Mozilla's trusted root certificates as the PEM
// bundle that Go (and most TLS stacks) read from
// /etc/ssl/certs/ca-certificates.crt. They come from
// golang.org/x/crypto/x509roots/fallback, pinned in go.mod, so the base
// image's roots change only with that pin, not with the build machine.
package main

import (
	"encoding/pem"
	"fmt"
	"os"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

func main() {
	n := 0
	for root := range bundle.Roots() {
		// A root with a distrust-after date cannot be expressed in a PEM
		// bundle; leaving it out errs on the side of trusting less.
		if root.Constraint != nil {
			continue
		}
		if err := pem.Encode(os.Stdout, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			fmt.Fprintln(os.Stderr, "cabundle:", err)
			os.Exit(1)
		}
		n++
	}
	if n == 0 {
		fmt.Fprintln(os.Stderr, "cabundle: the bundle has no roots")
		os.Exit(1)
	}
}
