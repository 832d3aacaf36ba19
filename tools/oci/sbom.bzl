"""image_sbom: the CycloneDX SBOM of one platform's image (go/tools/sbom)."""

load("@rules_go//go:def.bzl", "GoArchive")

def _importpath(archive_data):
    return archive_data.importpath

def _image_sbom_impl(ctx):
    # Every package the binary links, in the configuration it was built in
    # (go_cross_binary passes its GoArchive on): what the build knows, which
    # rules_go does not link into the binary itself.
    packages = ctx.actions.declare_file(ctx.label.name + ".packages")
    listed = ctx.actions.args()
    listed.set_param_file_format("multiline")
    listed.add_all(ctx.attr.binary[GoArchive].transitive, map_each = _importpath)
    ctx.actions.write(packages, listed)

    out = ctx.actions.declare_file(ctx.label.name + ".cdx.json")
    args = ctx.actions.args()
    args.add("-name", ctx.attr.repository)
    args.add("-layout", ctx.file.image.path)
    args.add("-binary", ctx.attr.binary_path)
    args.add("-packages", packages)
    args.add("-go-version", ctx.toolchains["@rules_go//go:toolchain"].sdk.version)
    args.add("-gomod", ctx.file.gomod)
    for file, module in sorted(ctx.attr.origins.items()):
        args.add("-origin", "%s=%s" % (file, module))
    args.add("-out", out)
    ctx.actions.run(
        executable = ctx.executable._sbom,
        arguments = [args],
        inputs = [ctx.file.image, packages, ctx.file.gomod],
        outputs = [out],
        mnemonic = "ImageSBOM",
        progress_message = "Writing the SBOM of %{label}",
    )
    return [DefaultInfo(files = depset([out]))]

image_sbom = rule(
    implementation = _image_sbom_impl,
    doc = "<name>.cdx.json: the image's files with their SHA-256, and the Go modules its binary links at go.mod's versions.",
    attrs = {
        "image": attr.label(
            doc = "The oci_image (an OCI layout of one image).",
            allow_single_file = True,
            mandatory = True,
        ),
        "binary": attr.label(
            doc = "The go_binary (or go_cross_binary) in the image.",
            providers = [GoArchive],
            mandatory = True,
        ),
        "binary_path": attr.string(doc = "The binary's path in the image.", mandatory = True),
        "repository": attr.string(doc = "The image's repository name, e.g. bookstore/recommendations.", mandatory = True),
        "origins": attr.string_dict(
            doc = "A file of the image made from a Go module of go.mod -> that module.",
        ),
        "gomod": attr.label(default = "//:go.mod", allow_single_file = True),
        "_sbom": attr.label(
            default = "//go/cmd/sbom",
            executable = True,
            cfg = "exec",
        ),
    },
    toolchains = ["@rules_go//go:toolchain"],
)
