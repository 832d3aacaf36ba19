package attest

import (
	"encoding/hex"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// The predicate types of what is attached to an image: cosign's own for a
// signature (`cosign sign`), and the standard ones `cosign attest --type
// cyclonedx` and `--type slsaprovenance1` write.
const (
	PredicateSignature  = "https://sigstore.dev/cosign/sign/v1"
	PredicateCycloneDX  = "https://cyclonedx.org/bom"
	PredicateProvenance = "https://slsa.dev/provenance/v1"
)

// Statement is the in-toto statement (v1) that predicate, of type
// predicateType, is about the artifact of digest, named name (the image's
// repository, as cosign names subjects).
func Statement(name string, digest v1.Hash, predicateType string, predicate *structpb.Struct) ([]byte, error) {
	if digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("digest %s: want sha256", digest)
	}
	if predicate == nil {
		predicate = &structpb.Struct{}
	}
	s := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: name, Digest: map[string]string{"sha256": digest.Hex}}},
		PredicateType: predicateType,
		Predicate:     predicate,
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return protojson.Marshal(s)
}

// JSONPredicate is a JSON object (an SBOM, say) as a statement's predicate.
func JSONPredicate(doc []byte) (*structpb.Struct, error) {
	var p structpb.Struct
	if err := protojson.Unmarshal(doc, &p); err != nil {
		return nil, fmt.Errorf("the predicate is not a JSON object: %w", err)
	}
	return &p, nil
}

// Build is what a provenance statement says of a build.
type Build struct {
	// Target is the Bazel target of the image, e.g. //go/cmd/marketplace:image.
	Target string
	// Source is the repository's URI; Revision its commit, with "-dirty"
	// when the working tree differed from it (tools/workspace_status).
	Source, Revision string
	// Builder identifies who ran the build (SLSA's builder.id).
	Builder string
}

// BuildType is the SLSA buildType of the provenance: a Bazel build of an
// image target of this repository at a commit.
const BuildType = "https://github.com/onlinebooks/bookstore/tools/oci/image.bzl@v1"

// Provenance is the SLSA v1 provenance predicate of b. The source is a
// resolved dependency, by commit, only when the build was of that commit:
// a modified tree ("-dirty") or none known ("unknown", outside git) says
// so in its parameters and resolves to no commit.
func Provenance(b Build) (*structpb.Struct, error) {
	if b.Target == "" || b.Source == "" || b.Builder == "" {
		return nil, fmt.Errorf("a provenance needs a target, a source and a builder: %+v", b)
	}
	external, err := structpb.NewStruct(map[string]any{
		"target": b.Target,
		"source": map[string]any{"uri": b.Source, "revision": b.Revision},
	})
	if err != nil {
		return nil, err
	}
	commit, dirty := strings.CutSuffix(b.Revision, "-dirty")
	internal, err := structpb.NewStruct(map[string]any{"dirty": dirty})
	if err != nil {
		return nil, err
	}
	var resolved []*intoto.ResourceDescriptor
	if !dirty && isCommit(commit) {
		resolved = append(resolved, &intoto.ResourceDescriptor{Uri: b.Source, Digest: map[string]string{"gitCommit": commit}})
	}
	p := &provenance.Provenance{
		BuildDefinition: &provenance.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   external,
			InternalParameters:   internal,
			ResolvedDependencies: resolved,
		},
		RunDetails: &provenance.RunDetails{Builder: &provenance.Builder{Id: b.Builder}},
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	doc, err := protojson.Marshal(p)
	if err != nil {
		return nil, err
	}
	return JSONPredicate(doc)
}

// isCommit says whether s is a git object name: SHA-1 or SHA-256, in hex.
func isCommit(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && (len(s) == 40 || len(s) == 64)
}
