// Package conformance_test holds the stand-in to what rules_oci 2.2.6
// produces. Each expectation names the upstream file and line it comes from
// (bazel-contrib/rules_oci at v2.2.6, oci/private/...); a test fails when
// the stand-in drifts from it.
package conformance_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	epoch             = "1970-01-01T00:00:00Z"
	ociLayer          = "application/vnd.oci.image.layer.v1.tar"
	ociLayerGzip      = "application/vnd.oci.image.layer.v1.tar+gzip"
	ociManifest       = "application/vnd.oci.image.manifest.v1+json"
	ociConfig         = "application/vnd.oci.image.config.v1+json"
	ociIndex          = "application/vnd.oci.image.index.v1+json"
	tarballEntryMtime = 1672560000
)

// TestConfig: image.sh:30 starts a scratch config at the epoch with the
// platform; env replaces a key in place and expands ${NAME} from the env so
// far (:15-18, :131-147); entrypoint drops cmd (:155); labels split at the
// first "=" (:170); ports as written (:158).
func TestConfig(t *testing.T) {
	cf := config(t, "IMAGE")
	raw := rawConfig(t, "IMAGE")
	if got := raw["created"]; got != epoch {
		t.Errorf("created: got %v, want %s", got, epoch)
	}
	for _, c := range []struct{ field, got, want string }{
		{"os", cf.OS, "linux"},
		{"architecture", cf.Architecture, "arm64"},
		{"User", cf.Config.User, "65532:65532"},
		{"WorkingDir", cf.Config.WorkingDir, "/home"},
		{"Labels[org.example.formula]", cf.Config.Labels["org.example.formula"], "a=b"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
		}
	}
	if got, want := cf.Config.Env, []string{"PATH=/usr/bin:/bin", "GREETING=hello"}; !slices.Equal(got, want) {
		t.Errorf("Env: got %q, want %q", got, want)
	}
	if got, want := cf.Config.Entrypoint, []string{"/hello"}; !slices.Equal(got, want) {
		t.Errorf("Entrypoint: got %q, want %q", got, want)
	}
	if cf.Config.Cmd != nil {
		t.Errorf("Cmd: got %q, want none", cf.Config.Cmd)
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok || len(cf.Config.ExposedPorts) != 1 {
		t.Errorf("ExposedPorts: got %v, want only 8080/tcp", cf.Config.ExposedPorts)
	}
}

// TestHistory: descriptor.sh:43-46 gives every layer a history entry at
// the epoch, created_by "bazel build <label of the target that made the
// tar>" (image.bzl:113 passes layer.owner), appended after the base's
// (image.sh:94); nothing else in it.
func TestHistory(t *testing.T) {
	raw := rawConfig(t, "IMAGE")
	history, ok := raw["history"].([]any)
	if !ok {
		t.Fatalf("history: got %v, want a list", raw["history"])
	}
	owners := []string{"//conformance:layer_tar", "//conformance:layer_gz"}
	if len(history) != len(owners) {
		t.Fatalf("history: %d entries, want %d: %v", len(history), len(owners), history)
	}
	for i, h := range history {
		entry, _ := h.(map[string]any)
		if got := keys(entry); !slices.Equal(got, []string{"created", "created_by"}) {
			t.Errorf("history[%d] fields: got %q, want created and created_by only", i, got)
		}
		if got := entry["created"]; got != epoch {
			t.Errorf("history[%d].created: got %v, want %s", i, got, epoch)
		}
		by, _ := entry["created_by"].(string)
		label, ok := strings.CutPrefix(by, "bazel build ")
		if !ok || !strings.HasPrefix(label, "@") || !strings.HasSuffix(label, owners[i]) {
			t.Errorf("history[%d].created_by: got %q, want \"bazel build @<repo>%s\"", i, by, owners[i])
		}
	}
}

// TestLayers_StoredAsGiven: descriptor.sh:19-21 takes the tar's digest and
// size as they are, never recompressing; the media type follows the bytes
// (image.sh:80-90, descriptor.sh:24); diff_id is the digest of the
// uncompressed tar (descriptor.sh:20, :26).
func TestLayers_StoredAsGiven(t *testing.T) {
	m := manifest(t, "IMAGE")
	cf := config(t, "IMAGE")
	inputs := []struct {
		env, mediaType string
		gzipped        bool
	}{
		{"LAYER_TAR", ociLayer, false},
		{"LAYER_GZ", ociLayerGzip, true},
	}
	if len(m.Layers) != len(inputs) || len(cf.RootFS.DiffIDs) != len(inputs) {
		t.Fatalf("got %d layers and %d diff_ids, want %d", len(m.Layers), len(cf.RootFS.DiffIDs), len(inputs))
	}
	for i, in := range inputs {
		b := readFile(t, rlocation(t, in.env))
		layer := m.Layers[i]
		if got, want := layer.Digest.String(), sha(b); got != want {
			t.Errorf("layer %d digest: got %s, want %s, the input's own", i, got, want)
		}
		if got, want := layer.Size, int64(len(b)); got != want {
			t.Errorf("layer %d size: got %d, want %d", i, got, want)
		}
		if got := readFile(t, blob(t, "IMAGE", layer.Digest)); !bytes.Equal(got, b) {
			t.Errorf("layer %d blob: %d bytes differ from the %d of the input", i, len(got), len(b))
		}
		if got := string(layer.MediaType); got != in.mediaType {
			t.Errorf("layer %d mediaType: got %s, want %s", i, got, in.mediaType)
		}
		want := sha(b)
		if in.gzipped {
			want = sha(gunzip(t, b))
		}
		if got := cf.RootFS.DiffIDs[i].String(); got != want {
			t.Errorf("layer %d diff_id: got %s, want %s", i, got, want)
		}
	}
}

// TestBlobs_LayersAreRelativeSymlinks: on Bazel >= 7.1 image.sh:105-114
// links each layer blob to its tar, and :36-46 each base blob to the
// base's, with `ln -s` of a path relative to blobs/sha256; config and
// manifest are regular files (regctl blob put).
func TestBlobs_LayersAreRelativeSymlinks(t *testing.T) {
	m := manifest(t, "IMAGE")
	for i, layer := range m.Layers {
		path := treeEntry(t, blob(t, "IMAGE", layer.Digest))
		target, err := os.Readlink(path)
		if err != nil {
			t.Errorf("layer %d blob: not a symlink: %v", i, err)
			continue
		}
		if filepath.IsAbs(target) {
			t.Errorf("layer %d blob: links to %s, want a relative path", i, target)
		}
	}
	// The image's own layer resolves to the tar it was given.
	got, err := filepath.EvalSymlinks(treeEntry(t, blob(t, "IMAGE", m.Layers[1].Digest)))
	if err != nil {
		t.Fatal(err)
	}
	if want := evalSymlinks(t, rlocation(t, "LAYER_GZ")); got != want {
		t.Errorf("layer blob resolves to %s, want the input tar %s", got, want)
	}
	index := indexEntry(t, "IMAGE")
	for _, d := range []v1.Hash{m.Config.Digest, index.Digest} {
		fi, err := os.Lstat(treeEntry(t, blob(t, "IMAGE", d)))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() {
			t.Errorf("blob %s: mode %v, want a regular file", d, fi.Mode())
		}
	}
}

// TestLayout_IndexAndManifest: image.sh:190 leaves index.json with
// schemaVersion, mediaType and one manifest of mediaType, digest and size
// (the annotations deleted, no platform); the manifest is image.sh:23-28's
// with config and layer descriptors.
func TestLayout_IndexAndManifest(t *testing.T) {
	var index map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(rlocation(t, "IMAGE"), "index.json")), &index); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(index), []string{"manifests", "mediaType", "schemaVersion"}; !slices.Equal(got, want) {
		t.Errorf("index.json fields: got %q, want %q", got, want)
	}
	if index["schemaVersion"] != 2.0 || index["mediaType"] != ociIndex {
		t.Errorf("index.json: got schemaVersion %v, mediaType %v", index["schemaVersion"], index["mediaType"])
	}
	manifests, _ := index["manifests"].([]any)
	if len(manifests) != 1 {
		t.Fatalf("index.json: %d manifests, want 1", len(manifests))
	}
	entry, _ := manifests[0].(map[string]any)
	if got, want := keys(entry), []string{"digest", "mediaType", "size"}; !slices.Equal(got, want) {
		t.Errorf("index.json manifest fields: got %q, want %q", got, want)
	}
	if entry["mediaType"] != ociManifest {
		t.Errorf("manifest mediaType: got %v, want %s", entry["mediaType"], ociManifest)
	}
	var layout map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(rlocation(t, "IMAGE"), "oci-layout")), &layout); err != nil {
		t.Fatal(err)
	}
	if got := layout["imageLayoutVersion"]; got != "1.0.0" || len(layout) != 1 {
		t.Errorf("oci-layout: got %v, want imageLayoutVersion 1.0.0 only", layout)
	}

	m := manifest(t, "IMAGE")
	if m.SchemaVersion != 2 || m.MediaType != ociManifest || m.Config.MediaType != ociConfig {
		t.Errorf("manifest: schemaVersion %d, mediaType %s, config mediaType %s", m.SchemaVersion, m.MediaType, m.Config.MediaType)
	}
	if got, want := m.Config.Digest.String(), sha(readFile(t, blob(t, "IMAGE", m.Config.Digest))); got != want {
		t.Errorf("config digest: got %s, want %s", got, want)
	}
	if m.Annotations != nil {
		t.Errorf("manifest annotations: got %v, want none", m.Annotations)
	}
}

// TestDigest: oci/defs.bzl:170-177 writes <name>.json.sha256 with `jq -r
// '.manifests[0].digest'`: the digest and a newline.
func TestDigest(t *testing.T) {
	if got, want := string(readFile(t, rlocation(t, "DIGEST"))), indexEntry(t, "IMAGE").Digest.String()+"\n"; got != want {
		t.Errorf("image.digest: got %q, want %q", got, want)
	}
	if got := filepath.Base(rlocation(t, "DIGEST")); got != "image.json.sha256" {
		t.Errorf("image.digest's file: got %s, want image.json.sha256", got)
	}
}

// TestTarball: tarball.sh.tpl:87-107 puts the config at blobs/sha256/<hex>,
// each layer at blobs/sha256/<hex>.tar.gz whatever its compression, and
// manifest.json; every entry uid 0, gid 0, mode 0755 at time 1672560000
// (:21); no index.json or oci-layout in the docker format.
func TestTarball(t *testing.T) {
	entries := untar(t, readFile(t, rlocation(t, "TARBALL")))
	m := manifest(t, "IMAGE")
	wantLayers := []string{}
	for _, l := range m.Layers {
		wantLayers = append(wantLayers, "blobs/sha256/"+l.Digest.Hex+".tar.gz")
	}
	wantNames := append([]string{"blobs/sha256/" + m.Config.Digest.Hex}, wantLayers...)
	wantNames = append(wantNames, "manifest.json")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		if e.Uid != 0 || e.Gid != 0 || e.Mode != 0o755 || e.ModTime.Unix() != tarballEntryMtime {
			t.Errorf("%s: uid %d gid %d mode %o time %d, want 0 0 755 %d", e.Name, e.Uid, e.Gid, e.Mode, e.ModTime.Unix(), tarballEntryMtime)
		}
	}
	slices.Sort(names)
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("entries: got %q, want %q", names, wantNames)
	}
	var got []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	for _, e := range entries {
		if e.Name == "manifest.json" {
			if err := json.Unmarshal(e.body, &got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 1 {
		t.Fatalf("manifest.json: %d entries, want 1", len(got))
	}
	if want := "blobs/sha256/" + m.Config.Digest.Hex; got[0].Config != want {
		t.Errorf("manifest.json Config: got %s, want %s", got[0].Config, want)
	}
	if want := []string{"conformance/image:one", "conformance/image:two"}; !slices.Equal(got[0].RepoTags, want) {
		t.Errorf("manifest.json RepoTags: got %q, want %q", got[0].RepoTags, want)
	}
	if !slices.Equal(got[0].Layers, wantLayers) {
		t.Errorf("manifest.json Layers: got %q, want %q", got[0].Layers, wantLayers)
	}
}

// TestLoad_RunsTheContainerCLI: load.sh.tpl:13-23 takes docker (else
// podman) from PATH and runs `load --input` on the tarball (:32-34).
func TestLoad_RunsTheContainerCLI(t *testing.T) {
	bin := t.TempDir()
	got := filepath.Join(t.TempDir(), "got")
	fake := fmt.Sprintf("#!/bin/sh\necho \"$@\" >%s.args\n[ \"$1 $2\" = \"load --input\" ] && cat \"$3\" >%s.tar\necho \"Loaded image: conformance/image:one\"\n", got, got)
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rlocation(t, "LOAD"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	if args := strings.Fields(string(readFile(t, got+".args"))); len(args) != 3 || args[0] != "load" || args[1] != "--input" {
		t.Errorf("docker was run with %q, want load --input FILE", args)
	}
	if loaded, want := readFile(t, got+".tar"), readFile(t, rlocation(t, "TARBALL")); !bytes.Equal(loaded, want) {
		t.Errorf("docker load got %d bytes, want the %d of the tarball output group", len(loaded), len(want))
	}

	// Neither docker nor podman: a clear error, not a half-run. PATH keeps
	// the shell tools the script and the runfiles library use.
	tools := t.TempDir()
	for _, tool := range []string{"bash", "cat", "cut", "grep", "sed", "tr", "uname"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	cmd = exec.Command(rlocation(t, "LOAD"))
	cmd.Env = append(os.Environ(), "PATH="+tools)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Neither docker or podman could be found") {
		t.Errorf("load without a CLI: got %v:\n%s", err, out)
	}
}

// TestPush: push.sh.tpl:4-9 names its files by short path, so it runs
// from the runfiles root as `bazel run` starts it; --repository overrides
// the rule's, -t/--tag adds to remote_tags, -v goes on to crane (:27-50);
// it pushes by digest (:52-55) and crane prints REPOSITORY@DIGEST.
func TestPush(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	repo := strings.TrimPrefix(reg.URL, "http://") + "/conformance/image"
	digest := strings.TrimSpace(string(readFile(t, rlocation(t, "DIGEST"))))

	t.Run("as bazel run does", func(t *testing.T) {
		out, err := runPush(t, "PUSH", runfilesRoot(t), "--repository", repo, "--tag", "extra", "-v")
		if err != nil {
			t.Fatalf("push: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got, want := lines[len(lines)-1], repo+"@"+digest; got != want {
			t.Errorf("push printed %q last, want %q", got, want)
		}
		for _, tag := range []string{"latest", "extra"} {
			ref, err := name.NewTag(repo + ":" + tag)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(ref)
			if err != nil {
				t.Errorf("tag %s: %v", tag, err)
				continue
			}
			if got := desc.Digest.String(); got != digest {
				t.Errorf("tag %s: got %s, want %s", tag, got, digest)
			}
		}
	})

	// From any other working directory the short paths do not resolve,
	// upstream's and the stand-in's alike.
	t.Run("elsewhere", func(t *testing.T) {
		out, err := runPush(t, "PUSH", t.TempDir(), "--repository", repo)
		if err == nil || !strings.Contains(out, "No such file or directory") {
			t.Errorf("push outside the runfiles root: got %v, want a missing file:\n%s", err, out)
		}
	})
}

// TestIndex_Layout: image_index.sh.tpl's create_oci_layout writes
// oci-layout with echo; add_image lists each image's descriptor from its
// index.json, in the order of `images`, with "platform" from its config
// last; the list (schemaVersion, mediaType, manifests) becomes a blob, and
// index.json, written by `jq -n '.manifests = [...]'`, names it alone:
// mediaType, size, digest, no schemaVersion (rules_oci issue 690). jq
// prints each with two-space indents and a newline. copy_blob copies every
// image's blobs with cp, which follows links; manifest_list.new.json, jq's
// last output, stays beside them.
func TestIndex_Layout(t *testing.T) {
	dir := rlocation(t, "INDEX")
	if got, want := string(readFile(t, filepath.Join(dir, "oci-layout"))), "{\"imageLayoutVersion\": \"1.0.0\"}\n"; got != want {
		t.Errorf("oci-layout: got %q, want %q", got, want)
	}

	wantFiles := map[string]bool{"oci-layout": true, "index.json": true, "manifest_list.new.json": true}
	var entries []string
	for _, env := range []string{"IMAGE", "IMAGE_AMD64"} {
		d, cf := indexEntry(t, env), config(t, env)
		// An oci_image's index.json entry is regctl's descriptor:
		// mediaType, digest, size.
		entries = append(entries, fmt.Sprintf(indexManifest, d.MediaType, d.Digest, d.Size, cf.OS, cf.Architecture))
		for _, f := range listFiles(t, rlocation(t, env)) {
			if strings.HasPrefix(f, "blobs/") {
				wantFiles[f] = true
			}
		}
	}
	list := fmt.Sprintf("{\n  \"schemaVersion\": 2,\n  \"mediaType\": %q,\n  \"manifests\": [\n%s\n  ]\n}\n", ociIndex, strings.Join(entries, ",\n"))
	listDigest := sha([]byte(list))
	wantFiles["blobs/sha256/"+strings.TrimPrefix(listDigest, "sha256:")] = true

	want := fmt.Sprintf("{\n  \"manifests\": [\n    {\n      \"mediaType\": %q,\n      \"size\": %d,\n      \"digest\": %q\n    }\n  ]\n}\n", ociIndex, len(list), listDigest)
	if got := string(readFile(t, filepath.Join(dir, "index.json"))); got != want {
		t.Errorf("index.json:\n%s\nwant:\n%s", got, want)
	}
	for _, f := range []string{"blobs/sha256/" + strings.TrimPrefix(listDigest, "sha256:"), "manifest_list.new.json"} {
		if got := string(readFile(t, filepath.Join(dir, f))); got != list {
			t.Errorf("%s:\n%s\nwant:\n%s", f, got, list)
		}
	}

	got := listFiles(t, dir)
	if !slices.Equal(got, slices.Sorted(maps.Keys(wantFiles))) {
		t.Errorf("files: got %q, want %q", got, slices.Sorted(maps.Keys(wantFiles)))
	}
	for _, f := range got {
		path := treeEntry(t, filepath.Join(dir, f))
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() {
			t.Errorf("%s: mode %s, want a regular file (cp copies through links)", f, fi.Mode())
		}
		if hex, ok := strings.CutPrefix(f, "blobs/sha256/"); ok && sha(readFile(t, path)) != "sha256:"+hex {
			t.Errorf("%s: content does not match its name", f)
		}
	}
}

// indexManifest is one entry of an index blob, as jq prints it.
const indexManifest = `    {
      "mediaType": %q,
      "digest": %q,
      "size": %d,
      "platform": {
        "os": %q,
        "architecture": %q
      }
    }`

// TestIndex_Digest: oci/defs.bzl's oci_image_index macro adds
// <name>.digest, `jq -r '.manifests[0].digest'` of index.json: the index
// blob's digest and a newline.
func TestIndex_Digest(t *testing.T) {
	want := indexEntry(t, "INDEX").Digest.String() + "\n"
	if got := string(readFile(t, rlocation(t, "INDEX_DIGEST"))); got != want {
		t.Errorf("index.digest: got %q, want %q", got, want)
	}
}

// TestIndex_Platforms: image_index.bzl's transition builds the one image
// once per entry of `platforms`, in that order; add_image's platform keeps
// a variant the config has and leaves out one it does not (image.bzl's
// _platform_str writes a variant only when set).
func TestIndex_Platforms(t *testing.T) {
	dir := rlocation(t, "PLATFORM_INDEX")
	d := indexEntry(t, "PLATFORM_INDEX")
	list := readFile(t, filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
	var idx struct {
		Manifests []struct{ Platform json.RawMessage }
	}
	if err := json.Unmarshal(list, &idx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range idx.Manifests {
		var compact bytes.Buffer
		if err := json.Compact(&compact, m.Platform); err != nil {
			t.Fatal(err)
		}
		got = append(got, compact.String())
	}
	want := []string{
		`{"os":"linux","architecture":"arm64","variant":"v8"}`,
		`{"os":"linux","architecture":"amd64"}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("platforms: got %q, want %q", got, want)
	}
}

// TestPush_Index: crane push of a layout whose one manifest is an index
// writes the whole index (cmd/crane/cmd/push.go: remote.WriteIndex), each
// image in it, and prints REPOSITORY@<the index's digest>.
func TestPush_Index(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	repo := strings.TrimPrefix(reg.URL, "http://") + "/conformance/index"
	digest := strings.TrimSpace(string(readFile(t, rlocation(t, "INDEX_DIGEST"))))

	out, err := runPush(t, "PUSH_INDEX", runfilesRoot(t), "--repository", repo)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got, want := lines[len(lines)-1], repo+"@"+digest; got != want {
		t.Fatalf("push printed %q last, want %q", got, want)
	}
	ref, err := name.NewDigest(repo + "@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatalf("%s: %v", d.Digest, err)
		}
		// Every layer is in the registry, not only the manifests.
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatalf("%s: layer: %v", d.Digest, err)
			}
			rc.Close()
		}
		got = append(got, d.Platform.String())
	}
	if want := []string{"linux/arm64", "linux/amd64"}; !slices.Equal(got, want) {
		t.Errorf("pushed index lists %q, want %q", got, want)
	}
}

// TestLoad_IndexRefused: oci_load's docker format holds one image;
// tarball.sh.tpl refuses an index with its message and writes nothing, so
// the CLI's load (here a stand-in that fails on empty input, as `docker
// load` does) fails too.
func TestLoad_IndexRefused(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\n[ \"$(cat \"$3\" | wc -c)\" -gt 0 ] || { echo 'empty input' >&2; exit 1; }\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rlocation(t, "LOAD_INDEX"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
	out, err := cmd.CombinedOutput()
	want := "Format docker is only supported for oci_image targets but saw " + ociIndex
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("load of an index: got %v, want an error saying %q:\n%s", err, want, out)
	}
}

// listFiles is every file under dir, relative to it, through the runfiles'
// links but not the layout's own.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	root := treeEntry(t, dir)
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// runPush runs the script of the push target that env names in dir and returns what it printed
// on standard output (and, on a failure, standard error too).
func runPush(t *testing.T, env, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rlocation(t, env), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// runfilesRoot is the main repository's folder of the runfiles tree, the
// working directory `bazel run` gives a target.
func runfilesRoot(t *testing.T) string {
	t.Helper()
	return filepath.Join(os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"))
}

func rlocation(t *testing.T, env string) string {
	t.Helper()
	p, err := runfiles.Rlocation(os.Getenv(env))
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return p
}

// treeEntry is the file of Bazel's output tree behind path: the runfiles
// tree links each file (absolute links); what the rule wrote is there.
func treeEntry(t *testing.T, path string) string {
	t.Helper()
	for range 8 {
		target, err := os.Readlink(path)
		if err != nil || !filepath.IsAbs(target) {
			return path
		}
		path = target
	}
	t.Fatalf("%s: too many links", path)
	return ""
}

func evalSymlinks(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func indexEntry(t *testing.T, env string) v1.Descriptor {
	t.Helper()
	idx, err := v1.ParseIndexManifest(bytes.NewReader(readFile(t, filepath.Join(rlocation(t, env), "index.json"))))
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("%s: %d manifests, want 1", env, len(idx.Manifests))
	}
	return idx.Manifests[0]
}

func blob(t *testing.T, env string, h v1.Hash) string {
	t.Helper()
	return filepath.Join(rlocation(t, env), "blobs", h.Algorithm, h.Hex)
}

func manifest(t *testing.T, env string) *v1.Manifest {
	t.Helper()
	m, err := v1.ParseManifest(bytes.NewReader(readFile(t, blob(t, env, indexEntry(t, env).Digest))))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func config(t *testing.T, env string) *v1.ConfigFile {
	t.Helper()
	cf, err := v1.ParseConfigFile(bytes.NewReader(readFile(t, blob(t, env, manifest(t, env).Config.Digest))))
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func rawConfig(t *testing.T, env string) map[string]any {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(readFile(t, blob(t, env, manifest(t, env).Config.Digest)), &raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type tarEntry struct {
	tar.Header
	body []byte
}

func untar(t *testing.T, b []byte) []tarEntry {
	t.Helper()
	var entries []tarEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, tarEntry{*h, body})
	}
}
