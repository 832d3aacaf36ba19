package attest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/types/known/structpb"
)

// Publish signs the image index at ref, which is in the registry, and
// attaches to it what Check asks for: the signature and the provenance of
// build on the index, and on each of its images that image's SBOM (one of
// sboms: CycloneDX JSON whose metadata component names the image's digest,
// as go/tools/sbom writes it). What k's public key already verifies there
// is not attached again, so pushing the same image twice adds nothing. It
// writes what it attaches to log.
func Publish(ctx context.Context, ref name.Digest, sboms [][]byte, build Build, k sign.Keypair, log io.Writer,
	opts ...remote.Option,
) error {
	index, err := remote.Get(ref, slices.Concat(opts, []remote.Option{remote.WithContext(ctx)})...)
	if err != nil {
		return err
	}
	idx, err := index.ImageIndex()
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	provenance, err := Provenance(build)
	if err != nil {
		return err
	}

	// Every image with its SBOM, and no SBOM left over, before anything is
	// signed.
	byDigest := make(map[string][]byte)
	for _, doc := range sboms {
		digest, err := sbomSubject(doc)
		if err != nil {
			return err
		}
		byDigest[digest] = doc
	}
	type attestation struct {
		subject       v1.Descriptor
		predicateType string
		predicate     *structpb.Struct
	}
	var todo []attestation
	for _, d := range m.Manifests {
		doc, ok := byDigest[d.Digest.String()]
		if !ok {
			return fmt.Errorf("%s: no SBOM names its image %s (%v)", ref, d.Digest, d.Platform)
		}
		delete(byDigest, d.Digest.String())
		predicate, err := JSONPredicate(doc)
		if err != nil {
			return err
		}
		todo = append(todo, attestation{d, PredicateCycloneDX, predicate})
	}
	if len(byDigest) > 0 {
		return fmt.Errorf("%s: SBOMs name images that are not in it: %s", ref, strings.Join(slices.Sorted(maps.Keys(byDigest)), ", "))
	}
	// The signature last: an index that is signed has all the rest.
	todo = append(todo,
		attestation{index.Descriptor, PredicateProvenance, provenance},
		attestation{index.Descriptor, PredicateSignature, nil})

	verifier, err := NewVerifier(k.GetPublicKey(), opts...)
	if err != nil {
		return err
	}
	created := time.Now()
	repository := ref.Context().Name()
	there := make(map[v1.Hash]attestations) // each subject's, read once
	for _, a := range todo {
		subject := ref.Context().Digest(a.subject.Digest.String())
		found, ok := there[a.subject.Digest]
		if !ok {
			if found, err = verifier.verify(ctx, subject); err != nil {
				return err
			}
			there[a.subject.Digest] = found
		}
		if _, ok := found.predicates[a.predicateType]; ok {
			fmt.Fprintf(log, "%s of %s: there already\n", a.predicateType, a.subject.Digest)
			continue
		}
		statement, err := Statement(repository, a.subject.Digest, a.predicateType, a.predicate)
		if err != nil {
			return err
		}
		bundle, err := Sign(ctx, statement, k)
		if err != nil {
			return err
		}
		at, err := Attach(ctx, subject, a.subject, bundle, a.predicateType, created, opts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "%s of %s: attached, %s\n", a.predicateType, a.subject.Digest, at.DigestStr())
	}
	return nil
}

// sbomSubject is the digest of the image an SBOM describes.
func sbomSubject(doc []byte) (string, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return "", fmt.Errorf("an SBOM: %w", err)
	}
	if bom.Metadata == nil || bom.Metadata.Component == nil || bom.Metadata.Component.Type != cdx.ComponentTypeContainer {
		return "", fmt.Errorf("an SBOM of no image: its metadata names no container component")
	}
	if _, err := v1.NewHash(bom.Metadata.Component.Version); err != nil {
		return "", fmt.Errorf("an SBOM of %s: its version is not the image's digest: %w", bom.Metadata.Component.Name, err)
	}
	return bom.Metadata.Component.Version, nil
}
