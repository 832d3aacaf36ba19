package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// indexCmd does what rules_oci's image_index.sh.tpl does with jq and
// coreutils: a layout whose index.json points at one image index blob, that
// index listing each image's manifest with its platform, and every image's
// blobs copied in. The JSON is jq's: objects in the order built, pretty
// printed with two spaces and a newline; Go writes no other layout of it,
// so the digest is upstream's for the same images.
func indexCmd(args []string) error {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the OCI layout to")
	var images listFlag
	fs.Var(&images, "image", "OCI layout of an image, in the index's order (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || len(images) == 0 {
		return errors.New("usage: ocitool index -out DIR -image DIR...")
	}
	if err := os.MkdirAll(filepath.Join(*out, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	// create_oci_layout: echo writes the layout version with a space and a
	// newline.
	if err := os.WriteFile(filepath.Join(*out, "oci-layout"), []byte(`{"imageLayoutVersion": "1.0.0"}`+"\n"), 0o644); err != nil {
		return err
	}

	var manifests []json.RawMessage
	for _, dir := range images {
		entry, err := indexEntry(dir)
		if err != nil {
			return fmt.Errorf("image %s: %w", dir, err)
		}
		manifests = append(manifests, entry)
		// copy_blob: each --blob is copied by cp, which follows the member's
		// symlinks: the index's blobs are regular files.
		if err := copyBlobs(dir, *out); err != nil {
			return fmt.Errorf("image %s: %w", dir, err)
		}
	}

	list, err := jqPretty(object(
		field{"schemaVersion", json.RawMessage("2")},
		field{"mediaType", jsonString(string(types.OCIImageIndex))},
		field{"manifests", array(manifests)},
	))
	if err != nil {
		return err
	}
	// add_image leaves jq's last output beside the layout as
	// manifest_list.new.json; the script's end moves manifest_list.json to
	// its blob.
	if err := os.WriteFile(filepath.Join(*out, "manifest_list.new.json"), list, 0o644); err != nil {
		return err
	}
	hex := fmt.Sprintf("%x", sha256.Sum256(list))
	if err := os.WriteFile(filepath.Join(*out, "blobs", "sha256", hex), list, 0o644); err != nil {
		return err
	}
	// The script's end: `jq -n '.manifests = [...]'`, so no schemaVersion
	// and no mediaType (rules_oci issue 690).
	index, err := jqPretty(object(field{"manifests", array([]json.RawMessage{object(
		field{"mediaType", jsonString(string(types.OCIImageIndex))},
		field{"size", json.RawMessage(fmt.Sprint(len(list)))},
		field{"digest", jsonString("sha256:" + hex)},
	)})}))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*out, "index.json"), index, 0o644)
}

// indexEntry is the image's descriptor from its index.json, with its keys
// in their order, plus "platform" from its config (add_image): os,
// architecture, variant, os.version and os.features, each only where the
// config has it and it is not null.
func indexEntry(dir string) (json.RawMessage, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var idx struct{ Manifests []json.RawMessage }
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	// add_image passes the manifests as one jq argument, which holds one.
	if len(idx.Manifests) != 1 {
		return nil, fmt.Errorf("want one manifest in index.json, found %d", len(idx.Manifests))
	}
	var desc v1.Descriptor
	if err := json.Unmarshal(idx.Manifests[0], &desc); err != nil {
		return nil, err
	}
	l := ociLayout{dir}
	mb, err := os.ReadFile(l.blobPath(desc.Digest))
	if err != nil {
		return nil, err
	}
	var m struct {
		Config *v1.Descriptor `json:"config"`
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, err
	}
	// add_image takes .config.digest, which an index does not have.
	if m.Config == nil {
		return nil, fmt.Errorf("%s is not an image manifest (an index within an index?)", desc.Digest)
	}
	cb, err := os.ReadFile(l.blobPath(m.Config.Digest))
	if err != nil {
		return nil, err
	}
	var config map[string]json.RawMessage
	if err := json.Unmarshal(cb, &config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var platform []field
	for _, k := range []string{"os", "architecture", "variant", "os.version", "os.features"} {
		if v, ok := config[k]; ok && string(v) != "null" {
			platform = append(platform, field{k, v})
		}
	}
	entry, err := fields(idx.Manifests[0])
	if err != nil {
		return nil, err
	}
	// jq's `$manifest + {"platform": ...}`: a key already there keeps its
	// place; else it goes last.
	replaced := false
	for i := range entry {
		if entry[i].key == "platform" {
			entry[i].value, replaced = object(platform...), true
		}
	}
	if !replaced {
		entry = append(entry, field{"platform", object(platform...)})
	}
	return object(entry...), nil
}

// copyBlobs copies every file under dir/blobs to the same place under out,
// reading through symlinks.
func copyBlobs(dir, out string) error {
	root := filepath.Join(dir, "blobs")
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		// A blob two images share is written twice, with the same bytes.
		os.Remove(dst)
		return copyFile(path, dst)
	})
}

// field is one member of a JSON object whose key order matters, as jq keeps it.
type field struct {
	key   string
	value json.RawMessage
}

// fields reads a JSON object's members in their order.
func fields(b []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object: %s", b)
	}
	var out []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{t.(string), v})
	}
	return out, nil
}

func object(fs ...field) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(f.key))
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func array(vs []json.RawMessage) json.RawMessage {
	b := []byte{'['}
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v...)
	}
	return append(b, ']')
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// jqPretty lays out compact JSON as jq prints it by default: two-space
// indents, "key": value, and a newline at the end.
func jqPretty(b []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
