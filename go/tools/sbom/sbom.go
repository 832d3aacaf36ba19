// Package sbom describes a built image as a CycloneDX software bill of
// materials: every file of its layers with its SHA-256, and for its Go
// binary the modules it links, at the versions go.mod pins.
//
// What the binary links comes from the build, not from the binary:
// rules_go links no module list into binaries (debug/buildinfo finds none),
// so the Bazel rule (//tools/oci:sbom.bzl) passes the import paths of every
// package in the binary, and go.mod says which module, at which version,
// each comes from. The model and its JSON are cyclonedx-go's.
package sbom

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// Input is what an image's SBOM is made from.
type Input struct {
	// Name is the image's repository name, e.g. bookstore/recommendations.
	Name  string
	Image v1.Image
	// Binary is the Go binary's path in the image; Packages are the import
	// paths linked into it, GoVersion the toolchain's (e.g. 1.26.8).
	Binary    string
	Packages  []string
	GoVersion string
	// GoMod is the main module's go.mod.
	GoMod *modfile.File
	// Origins names, for a file of the image made from a Go module at
	// build time, that module (e.g. the CA bundle from
	// golang.org/x/crypto/x509roots/fallback).
	Origins map[string]string
}

// Build returns the image's SBOM.
func Build(in Input) (*cdx.BOM, error) {
	digest, err := in.Image.Digest()
	if err != nil {
		return nil, err
	}
	cfg, err := in.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	modules, err := linked(in.Packages, in.GoMod)
	if err != nil {
		return nil, err
	}
	files, err := imageFiles(in.Image)
	if err != nil {
		return nil, err
	}
	if _, ok := files[in.Binary]; !ok {
		return nil, fmt.Errorf("the binary %s is not in the image", in.Binary)
	}

	imageRef := "image"
	bom := cdx.NewBOM()
	bom.Metadata = &cdx.Metadata{
		Component: &cdx.Component{
			BOMRef:     imageRef,
			Type:       cdx.ComponentTypeContainer,
			Name:       in.Name,
			Version:    digest.String(),
			PackageURL: ociPURL(in.Name, digest, cfg),
		},
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeLibrary,
			Name: "github.com/CycloneDX/cyclonedx-go",
		}}},
	}

	// The binary's modules: the standard library, then go.mod's, sorted.
	stdlib := goModule("std", "go"+in.GoVersion)
	moduleRefs := []string{stdlib.BOMRef}
	components := []cdx.Component{stdlib}
	for _, m := range modules {
		c := goModule(m.Path, m.Version)
		moduleRefs = append(moduleRefs, c.BOMRef)
		components = append(components, c)
	}
	main := in.GoMod.Module.Mod.Path
	dependencies := []cdx.Dependency{{Ref: "file:" + in.Binary, Dependencies: &moduleRefs}}

	// The image's files, the binary as an application of the main module.
	var fileRefs []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		c := cdx.Component{
			BOMRef: "file:" + name,
			Type:   cdx.ComponentTypeFile,
			Name:   name,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: files[name]}},
		}
		if name == in.Binary {
			c.Type = cdx.ComponentTypeApplication
			c.Group = main
		}
		if origin, ok := in.Origins[name]; ok {
			m, err := moduleOf(origin, in.GoMod)
			if err != nil {
				return nil, fmt.Errorf("the origin of %s: %w", name, err)
			}
			// No bom-ref: the module may be a component of the BOM too,
			// and bom-refs are unique.
			ancestor := goModule(m.Path, m.Version)
			ancestor.BOMRef = ""
			c.Pedigree = &cdx.Pedigree{Ancestors: &[]cdx.Component{ancestor}}
		}
		fileRefs = append(fileRefs, c.BOMRef)
		components = append(components, c)
	}
	for name := range in.Origins {
		if _, ok := files[name]; !ok {
			return nil, fmt.Errorf("%s, named in the origins, is not in the image", name)
		}
	}
	bom.Components = &components
	dependencies = append([]cdx.Dependency{{Ref: imageRef, Dependencies: &fileRefs}}, dependencies...)
	bom.Dependencies = &dependencies
	return bom, nil
}

// linked returns the modules of go.mod that packages come from, sorted by
// path; the main module's own packages and the standard library's are not
// among them. A package of no module in go.mod is an error: the SBOM would
// miss it.
func linked(packages []string, gomod *modfile.File) ([]module.Version, error) {
	seen := make(map[module.Version]bool)
	var unknown []string
	for _, p := range packages {
		first, _, _ := strings.Cut(p, "/")
		if !strings.Contains(first, ".") || inModule(p, gomod.Module.Mod.Path) {
			continue
		}
		m, err := moduleOf(p, gomod)
		if err != nil {
			unknown = append(unknown, p)
			continue
		}
		seen[m] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("no module of go.mod provides %s", strings.Join(unknown, ", "))
	}
	return slices.SortedFunc(maps.Keys(seen), func(a, b module.Version) int { return strings.Compare(a.Path, b.Path) }), nil
}

// moduleOf is the module of go.mod (after its replacements) with the
// longest path that is a prefix of pkg.
func moduleOf(pkg string, gomod *modfile.File) (module.Version, error) {
	var best module.Version
	for _, r := range gomod.Require {
		if inModule(pkg, r.Mod.Path) && len(r.Mod.Path) > len(best.Path) {
			best = r.Mod
		}
	}
	if best.Path == "" {
		return best, fmt.Errorf("no module of go.mod provides %s", pkg)
	}
	for _, r := range gomod.Replace {
		if r.Old.Path == best.Path && (r.Old.Version == "" || r.Old.Version == best.Version) {
			return r.New, nil
		}
	}
	return best, nil
}

func inModule(pkg, mod string) bool {
	return pkg == mod || strings.HasPrefix(pkg, mod+"/")
}

// goModule is a module as a library component, with the purl that Go
// SBOM tools (cyclonedx-gomod, syft) give it.
func goModule(modPath, version string) cdx.Component {
	namespace, name := path.Split(modPath)
	purl := packageurl.NewPackageURL(packageurl.TypeGolang, strings.TrimSuffix(namespace, "/"), name, version,
		packageurl.Qualifiers{{Key: "type", Value: "module"}}, "").ToString()
	return cdx.Component{
		BOMRef:     purl,
		Type:       cdx.ComponentTypeLibrary,
		Name:       modPath,
		Version:    version,
		PackageURL: purl,
	}
}

// ociPURL is the image's package URL: pkg:oci/NAME@DIGEST?arch=...
func ociPURL(name string, digest v1.Hash, cfg *v1.ConfigFile) string {
	return packageurl.NewPackageURL(packageurl.TypeOCI, "", path.Base(name), digest.String(),
		packageurl.Qualifiers{{Key: "arch", Value: cfg.Architecture}, {Key: "os", Value: cfg.OS}}, "").ToString()
}

// imageFiles maps each regular file of the image's flattened layers to its
// SHA-256 (hex). A layer's whiteouts are not expected in these images, which
// are built from nothing; one is an error rather than a wrong list.
func imageFiles(img v1.Image) (map[string]string, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	files := make(map[string]string)
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		err = func() error {
			defer rc.Close()
			tr := tar.NewReader(rc)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				name := path.Clean("/" + h.Name)
				if strings.HasPrefix(path.Base(name), ".wh.") {
					return fmt.Errorf("layer entry %s: whiteouts are not supported", h.Name)
				}
				if h.Typeflag != tar.TypeReg {
					continue
				}
				sum := sha256.New()
				if _, err := io.Copy(sum, tr); err != nil {
					return err
				}
				files[name] = hex.EncodeToString(sum.Sum(nil))
			}
		}()
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}
