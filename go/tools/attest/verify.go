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
	return &Verifier{verifier: v, opts: slices.Concat([]remote.Option{boundedReads}, opts)}, nil
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
	var provenance *structpb.Struct
	if index, err := v.verify(ctx, ref); err != nil {
		errs = append(errs, err)
	} else {
		if _, err := index.require(PredicateSignature, "signature"); err != nil {
			errs = append(errs, err)
		}
		if provenance, err = index.require(PredicateProvenance, "provenance attestation"); err != nil {
			errs = append(errs, err)
		}
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
		image, err := v.verify(ctx, ref.Context().Digest(d.Digest.String()))
		var sbom *structpb.Struct
		if err == nil {
			sbom, err = image.require(PredicateCycloneDX, "SBOM attestation")
		}
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

// attestations is what the bundles referring to one subject hold: the
// predicates of the statements about its digest that verify with the key,
// by predicate type, and why the other bundles do not verify, by the
// predicate type they claim.
type attestations struct {
	subject    name.Digest
	predicates map[string]*structpb.Struct
	failures   map[string][]string
}

// verify reads and verifies, once, every bundle referring to subject.
func (v *Verifier) verify(ctx context.Context, subject name.Digest) (attestations, error) {
	found, err := bundles(ctx, subject, v.opts...)
	if err != nil {
		return attestations{}, err
	}
	digest, err := hex.DecodeString(strings.TrimPrefix(subject.DigestStr(), "sha256:"))
	if err != nil {
		return attestations{}, err
	}
	policy := verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey())
	got := attestations{subject: subject, predicates: make(map[string]*structpb.Struct), failures: make(map[string][]string)}
	for _, a := range found {
		var b bundle.Bundle
		if err := b.UnmarshalJSON(a.Bundle); err != nil {
			got.failures[a.PredicateType] = append(got.failures[a.PredicateType],
				fmt.Sprintf("referrer %s: not a Sigstore bundle: %v", a.Ref.DigestStr(), err))
			continue
		}
		result, err := v.verifier.Verify(&b, policy)
		if err != nil {
			got.failures[a.PredicateType] = append(got.failures[a.PredicateType], fmt.Sprintf("referrer %s: %v", a.Ref.DigestStr(), err))
			continue
		}
		if t := result.Statement.GetPredicateType(); got.predicates[t] == nil {
			got.predicates[t] = result.Statement.GetPredicate()
		}
	}
	return got, nil
}

// require returns the predicate of predicateType that verified, or says
// why there is none (what names it in the error).
func (a attestations) require(predicateType, what string) (*structpb.Struct, error) {
	if p, ok := a.predicates[predicateType]; ok {
		return p, nil
	}
	failures := a.failures[predicateType]
	switch len(failures) {
	case 0:
		return nil, fmt.Errorf("no %s made with the key (the registry holds none for %s)", what, a.subject.DigestStr())
	case 1:
		return nil, fmt.Errorf("no %s made with the key (the registry holds 1 for %s, which does not verify: %s)",
			what, a.subject.DigestStr(), failures[0])
	}
	return nil, fmt.Errorf("no %s made with the key (the registry holds %d for %s, none of which verifies: %s)",
		what, len(failures), a.subject.DigestStr(), strings.Join(failures, "; "))
}
