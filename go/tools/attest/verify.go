package attest

import (
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/types/known/structpb"
)

// Verifier checks images against one public key, offline: a bundle counts
// when its signature verifies with the key and its statement is about the
// image's digest. No transparency log or timestamp is asked for, as
// `cosign verify --key KEY --insecure-ignore-tlog` does.
type Verifier struct {
	verifier *verify.Verifier
	opts     []remote.Option
}

// NewVerifier returns a Verifier of key; opts are for the registry.
func NewVerifier(key crypto.PublicKey, opts ...remote.Option) (*Verifier, error) {
	sv, err := signature.LoadVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, err
	}
	return &Verifier{verifier: v, opts: opts}, nil
}

// Verified is what Check found for an image index, all of it signed.
type Verified struct {
	// Provenance is the index's SLSA provenance predicate.
	Provenance *structpb.Struct
	// Platforms are the index's images, in its order; SBOMs their
	// CycloneDX SBOMs, by platform.
	Platforms []string
	SBOMs     map[string]*structpb.Struct
}

// Check verifies an image index, by digest, before it may run: a signature
// and a provenance statement of the index, and an SBOM attestation of each
// of its images, all signed by the key. The error says what is missing or
// fails.
func (v *Verifier) Check(ctx context.Context, ref name.Digest) (Verified, error) {
	var errs []error
	if _, err := v.require(ctx, ref, PredicateSignature, "signature"); err != nil {
		errs = append(errs, err)
	}
	provenance, err := v.require(ctx, ref, PredicateProvenance, "provenance attestation")
	if err != nil {
		errs = append(errs, err)
	}
	idx, err := remote.Index(ref, slices.Concat(v.opts, []remote.Option{remote.WithContext(ctx)})...)
	if err != nil {
		return Verified{}, errors.Join(append(errs, err)...)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return Verified{}, errors.Join(append(errs, err)...)
	}
	got := Verified{Provenance: provenance, SBOMs: make(map[string]*structpb.Struct)}
	for _, d := range m.Manifests {
		platform := "an image"
		if d.Platform != nil {
			platform = d.Platform.String()
		}
		image := ref.Context().Digest(d.Digest.String())
		sbom, err := v.require(ctx, image, PredicateCycloneDX, "SBOM attestation")
		if err != nil {
			errs = append(errs, fmt.Errorf("its %s image: %w", platform, err))
			continue
		}
		got.Platforms = append(got.Platforms, platform)
		got.SBOMs[platform] = sbom
	}
	if len(errs) > 0 {
		return Verified{}, fmt.Errorf("%s: %w", ref, errors.Join(errs...))
	}
	return got, nil
}

// require finds a bundle referring to subject that verifies with the key
// and holds a statement of predicateType about subject's digest, and
// returns its predicate.
func (v *Verifier) require(ctx context.Context, subject name.Digest, predicateType, what string) (*structpb.Struct, error) {
	found, err := bundles(ctx, subject, v.opts...)
	if err != nil {
		return nil, err
	}
	digest, err := hex.DecodeString(strings.TrimPrefix(subject.DigestStr(), "sha256:"))
	if err != nil {
		return nil, err
	}
	policy := verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey())
	var failures []string
	for _, a := range found {
		var b bundle.Bundle
		if err := b.UnmarshalJSON(a.Bundle); err != nil {
			if a.PredicateType == predicateType {
				failures = append(failures, fmt.Sprintf("referrer %s: not a Sigstore bundle: %v", a.Ref.DigestStr(), err))
			}
			continue
		}
		result, err := v.verifier.Verify(&b, policy)
		if err != nil {
			if a.PredicateType == predicateType {
				failures = append(failures, fmt.Sprintf("referrer %s: %v", a.Ref.DigestStr(), err))
			}
			continue
		}
		if result.Statement.GetPredicateType() == predicateType {
			return result.Statement.GetPredicate(), nil
		}
	}
	switch len(failures) {
	case 0:
		return nil, fmt.Errorf("no %s made with the key (the registry holds none for %s)", what, subject.DigestStr())
	case 1:
		return nil, fmt.Errorf("no %s made with the key (the registry holds 1 for %s, which does not verify: %s)",
			what, subject.DigestStr(), failures[0])
	}
	return nil, fmt.Errorf("no %s made with the key (the registry holds %d for %s, none of which verifies: %s)",
		what, len(failures), subject.DigestStr(), strings.Join(failures, "; "))
}
