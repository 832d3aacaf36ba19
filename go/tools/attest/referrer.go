package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is a Sigstore bundle's, v0.3: the artifact type of the
// referrers cosign writes and reads.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// The annotations cosign puts on a bundle's manifest (BUNDLE_SPEC.md).
const (
	annotationContent       = "dev.sigstore.bundle.content"
	annotationPredicateType = "dev.sigstore.bundle.predicateType"
	annotationCreated       = "org.opencontainers.image.created"
	annotationTitle         = "org.opencontainers.image.title"
)

// Bounds on what a registry (anyone who may push to it) can make a
// verifier read: bundles listed, a bundle's manifest, a bundle, which is
// also the most any of its responses may hold (boundedReads).
const (
	maxReferrers    = 64
	maxManifestSize = 64 << 10
	maxBundleSize   = 8 << 20
)

// Sign signs statement (an in-toto statement's JSON) with k: the JSON of a
// Sigstore bundle holding the DSSE envelope, as `cosign sign` and `cosign
// attest` make it with a key.
func Sign(ctx context.Context, statement []byte, k sign.Keypair) ([]byte, error) {
	b, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: "application/vnd.in-toto+json"}, k,
		sign.BundleOptions{Context: ctx})
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(b)
}

// Attach stores bundle in subject's repository as a referrer of subject
// (described by desc), in cosign's layout: an OCI 1.1 manifest of artifact
// type BundleMediaType whose config is the empty descriptor and whose one
// layer is the bundle. Registries without the referrers API get the
// referrers tag instead (go-containerregistry does that).
func Attach(ctx context.Context, subject name.Digest, desc v1.Descriptor, bundle []byte, predicateType string,
	created time.Time, opts ...remote.Option,
) (name.Digest, error) {
	opts = slices.Concat(opts, []remote.Option{remote.WithContext(ctx)})
	repo := subject.Context()
	config := static.NewLayer([]byte("{}"), types.OCIEmptyJSON)
	layer := static.NewLayer(bundle, BundleMediaType)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return name.Digest{}, err
		}
	}
	configDesc, err := descriptorOf(config, types.OCIEmptyJSON)
	if err != nil {
		return name.Digest{}, err
	}
	// cosign names the artifact type on the config too; its readers look
	// there.
	configDesc.ArtifactType = BundleMediaType
	layerDesc, err := descriptorOf(layer, BundleMediaType)
	if err != nil {
		return name.Digest{}, err
	}
	layerDesc.Annotations = map[string]string{annotationTitle: layerDesc.Digest.Algorithm + "-" + layerDesc.Digest.Hex + ".sigstore.json"}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  BundleMediaType,
		Config:        configDesc,
		Layers:        []v1.Descriptor{layerDesc},
		Annotations: map[string]string{
			annotationContent:       "dsse-envelope",
			annotationPredicateType: predicateType,
			annotationCreated:       created.UTC().Format(time.RFC3339),
		},
		Subject: &v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	digest, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return name.Digest{}, err
	}
	ref := repo.Digest(digest.String())
	if err := remote.Put(ref, rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}, opts...); err != nil {
		return name.Digest{}, err
	}
	return ref, nil
}

// An attached bundle: its JSON, and what its manifest claims to hold (for
// messages only; nothing is trusted before the bundle verifies).
type attached struct {
	Ref           name.Digest
	Bundle        []byte
	PredicateType string
}

// bundles returns the Sigstore bundles that subject's repository holds as
// its referrers. A listed referrer that cannot be read, or is not a bundle
// about subject, is passed over: it proves nothing, and must not stop the
// others from proving something.
func bundles(ctx context.Context, subject name.Digest, opts ...remote.Option) ([]attached, error) {
	opts = slices.Concat(opts, []remote.Option{remote.WithContext(ctx), remote.WithFilter("artifactType", BundleMediaType)})
	idx, err := remote.Referrers(subject, opts...)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", subject, err)
	}
	list, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(list.Manifests) > maxReferrers {
		return nil, fmt.Errorf("%s has %d Sigstore bundles, more than the %d a verifier reads", subject, len(list.Manifests), maxReferrers)
	}
	var found []attached
	for _, d := range list.Manifests {
		if d.Size > maxManifestSize {
			continue
		}
		ref := subject.Context().Digest(d.Digest.String())
		got, err := remote.Get(ref, opts...)
		if err != nil || got.Size > maxManifestSize {
			continue
		}
		var m v1.Manifest
		if err := json.Unmarshal(got.Manifest, &m); err != nil {
			continue
		}
		// The registry's list is not trusted either: the manifest itself
		// must be a bundle about subject.
		if m.ArtifactType != BundleMediaType || m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr() ||
			len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType || m.Layers[0].Size > maxBundleSize {
			continue
		}
		layer, err := remote.Layer(subject.Context().Digest(m.Layers[0].Digest.String()), opts...)
		if err != nil {
			continue
		}
		b, err := readAll(layer, maxBundleSize)
		if err != nil {
			continue
		}
		found = append(found, attached{Ref: ref, Bundle: b, PredicateType: m.Annotations[annotationPredicateType]})
	}
	return found, nil
}

// boundedReads comes first in every Verifier's options (NewVerifier), so
// that all it reads of the registry is bounded; a transport of the
// caller's replaces it.
var boundedReads = remote.WithTransport(limitedTransport{remote.DefaultTransport, maxBundleSize})

// limitedTransport fails a response whose body runs past limit bytes.
// go-containerregistry reads a manifest of up to 100 MiB before it checks
// the manifest's digest, whatever size the list gave for it; the largest
// thing a verifier reads here is a bundle, so no response needs more.
type limitedTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	// Made for servers' request bodies, it bounds any ReadCloser; with no
	// ResponseWriter it only fails the read.
	resp.Body = http.MaxBytesReader(nil, resp.Body, t.limit)
	return resp, nil
}

// readAll reads a layer's blob, at most limit bytes; go-containerregistry
// checks its digest as it reads to the end.
func readAll(l v1.Layer, limit int64) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("a blob of more than %d bytes", limit)
	}
	return b, nil
}

func descriptorOf(l v1.Layer, mt types.MediaType) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, nil
}

// rawManifest is a manifest as remote.Put takes it.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
