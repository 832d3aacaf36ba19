// Command verify checks images as //k8s:apply does before it deploys them
// (go/tools/attest), and shows what their signed attestations say:
//
//	bazel run //go/cmd/verify -- [--key FILE] [--sbom] IMAGE@sha256:DIGEST...
//
// The key is //certs:image_signing.pub unless --key names another PEM
// public key (an absolute path). --sbom lists each platform's SBOM.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/onlinebooks/bookstore/go/tools/attest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	keyFile := fs.String("key", "", "the PEM public key the images must be signed with (runfiles or absolute path)")
	listSBOM := fs.Bool("sbom", false, "list the components of each platform's SBOM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: verify [--key FILE] [--sbom] IMAGE@sha256:DIGEST...")
	}
	path, err := runfiles.Rlocation(*keyFile)
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	key, err := attest.LoadPublicKey(path)
	if err != nil {
		return err
	}
	verifier, err := attest.NewVerifier(key, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	failed := 0
	for _, arg := range fs.Args() {
		ref, err := name.NewDigest(arg)
		if err != nil {
			return fmt.Errorf("%s: want IMAGE@sha256:DIGEST: %w", arg, err)
		}
		got, err := verifier.Check(ctx, ref)
		if err != nil {
			fmt.Fprintln(out, err)
			failed++
			continue
		}
		if err := show(out, ref, got, *listSBOM); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images fail verification", failed, fs.NArg())
	}
	return nil
}

// show writes what was verified of ref.
func show(out io.Writer, ref name.Digest, got attest.Verified, listSBOM bool) error {
	fmt.Fprintf(out, "%s: verified: signature, provenance, an SBOM of each image\n", ref)
	p := got.Provenance.AsMap()
	build, _ := p["buildDefinition"].(map[string]any)
	params, _ := build["externalParameters"].(map[string]any)
	source, _ := params["source"].(map[string]any)
	run, _ := p["runDetails"].(map[string]any)
	builder, _ := run["builder"].(map[string]any)
	fmt.Fprintf(out, "  provenance: %v of %v at %v, built by %v\n", params["target"], source["uri"], source["revision"], builder["id"])
	for _, platform := range got.Platforms {
		doc, err := protojson.Marshal(got.SBOMs[platform])
		if err != nil {
			return err
		}
		var bom cdx.BOM
		if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
			return fmt.Errorf("%s, %s: the SBOM: %w", ref, platform, err)
		}
		if bom.Metadata == nil || bom.Metadata.Component == nil {
			return fmt.Errorf("%s, %s: the SBOM names no image", ref, platform)
		}
		components := 0
		if bom.Components != nil {
			components = len(*bom.Components)
		}
		fmt.Fprintf(out, "  %s: %s, SBOM of %d components\n", platform, bom.Metadata.Component.Version, components)
		if !listSBOM || bom.Components == nil {
			continue
		}
		for _, c := range *bom.Components {
			fmt.Fprintf(out, "    %-12s %s %s\n", c.Type, c.Name, c.Version)
		}
	}
	return nil
}
