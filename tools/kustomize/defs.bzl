"""kustomize's inputs from Bazel: the images an overlay runs (kustomize_images)
and a kustomization folder kubectl can read (kustomize_tree)."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")

def _kustomize_images_impl(ctx):
    registry = ctx.attr.registry[BuildSettingInfo].value.rstrip("/")
    if not registry:
        fail("%s: the registry is empty" % ctx.attr.registry.label)
    out = ctx.actions.declare_file(ctx.attr.out)
    args = ctx.actions.args()
    args.add(out)
    args.add(registry)
    digests = []
    for target, name in ctx.attr.images.items():
        files = target.files.to_list()
        if len(files) != 1:
            fail("%s: want one .digest file, got %s" % (target.label, files))
        digests.extend(files)
        args.add(name)
        args.add(files[0])

    # A shell loop, not a tool of our own: it only pastes each digest file's
    # one line into YAML, and runs on every host Bazel does (macOS, Linux).
    ctx.actions.run_shell(
        outputs = [out],
        inputs = digests,
        arguments = [args],
        command = """set -eu
out=$1 registry=$2
shift 2
{
  echo "# Written by Bazel from the image targets' digests: what this overlay runs."
  echo "apiVersion: kustomize.config.k8s.io/v1alpha1"
  echo "kind: Component"
  echo "images:"
  while [ $# -gt 0 ]; do
    echo "  - name: $1"
    echo "    newName: $registry/$1"
    echo "    digest: $(cat "$2")"
    shift 2
  done
  echo "# The admission policy (base/admission.yaml) admits this registry only."
  echo "patches:"
  echo "  - target:"
  echo "      kind: Namespace"
  echo "    patch: |-"
  echo "      - op: add"
  echo "        path: /metadata/annotations"
  echo "        value:"
  echo "          onlinebooks.org/registry: $registry"
} >"$out"
""",
        mnemonic = "KustomizeImages",
        progress_message = "Writing the images of %{label}",
    )
    return [DefaultInfo(files = depset([out]))]

kustomize_images = rule(
    implementation = _kustomize_images_impl,
    doc = """A kustomize Component (out) that pins each image by digest under a registry.

Each image NAME (as the manifests write it) becomes REGISTRY/NAME@DIGEST,
the repository its oci_push target is given; the namespace is annotated
for the admission policy to admit that registry alone.""",
    attrs = {
        "images": attr.label_keyed_string_dict(
            doc = "Each image's .digest file, to the name the manifests give it.",
            allow_files = True,
            mandatory = True,
        ),
        "out": attr.string(
            doc = "The component's kustomization.yaml, under the package.",
            mandatory = True,
        ),
        "registry": attr.label(
            doc = "A string setting: the registry the images are pushed to and pulled from.",
            providers = [BuildSettingInfo],
            mandatory = True,
        ),
    },
)

def _kustomize_tree_impl(ctx):
    tree = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    inputs = []
    prefix = ctx.label.package + "/"
    for f in ctx.files.srcs:
        if not f.short_path.startswith(prefix):
            fail("%s is not in package %s; give it a path with files" % (f.short_path, ctx.label.package))
        inputs.append(f)
        args.add(f)
        args.add(f.short_path[len(prefix):])
    for target, path in ctx.attr.files.items():
        files = target.files.to_list()
        if len(files) != 1:
            fail("%s: want one file, got %s" % (target.label, files))
        inputs.extend(files)
        args.add(files[0])
        args.add(path)

    # Copies, not symlinks: kustomize refuses a file whose real path is
    # outside the kustomization's folder ("security; file ... is not in or
    # below"), which is every file of a runfiles tree or of bazel-bin.
    ctx.actions.run_shell(
        outputs = [tree],
        inputs = inputs,
        arguments = [tree.path, args],
        command = """set -eu
tree=$1
shift
while [ $# -gt 0 ]; do
  mkdir -p "$tree/$(dirname "$2")"
  cp "$1" "$tree/$2"
  shift 2
done
""",
        mnemonic = "KustomizeTree",
        progress_message = "Copying the kustomizations of %{label}",
    )
    return [DefaultInfo(files = depset([tree]), runfiles = ctx.runfiles([tree]))]

kustomize_tree = rule(
    implementation = _kustomize_tree_impl,
    doc = """A folder of kustomizations, as kubectl reads them (`kubectl apply -k`).

srcs keep their paths under the package; files puts others (certificates,
say) where the kustomizations expect them.""",
    attrs = {
        "files": attr.label_keyed_string_dict(
            doc = "Files from elsewhere, to their paths in the folder.",
            allow_files = True,
        ),
        "srcs": attr.label_list(
            doc = "The package's kustomization files and manifests, generated or not.",
            allow_files = True,
            mandatory = True,
        ),
    },
)
