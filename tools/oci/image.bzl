"""Images for Linux on amd64 and arm64, on //tools/oci's bases: a Go
binary's (linux_images), and a service's, with their index (service_image)."""

load("@rules_go//go:def.bzl", "go_cross_binary")
load("@rules_oci//oci:defs.bzl", "oci_image", "oci_image_index")
load("@rules_pkg//pkg:tar.bzl", "pkg_tar")
load(":sbom.bzl", "image_sbom")

# The images' platforms, by the architecture their configs name: each
# binary is built for its image's platform, whatever the host (a Mac, an
# arm64 laptop, an amd64 CI machine).
PLATFORMS = {
    "amd64": "@rules_go//go/toolchain:linux_amd64",
    "arm64": "@rules_go//go/toolchain:linux_arm64",
}

def native_image(image):
    """The per-architecture image of image (<image>_<arch>) that runs without emulation where the build is for.

    That is the target platform's CPU: the host's under `bazel run`, so
    Docker Desktop on Apple silicon (a linux/arm64 machine) gets arm64, and
    any CPU other than arm64 gets amd64.
    """
    return select({
        "@platforms//cpu:arm64": image + "_arm64",
        "//conditions:default": image + "_amd64",
    })

# Every image says where it comes from. The values are the workspace status
# (tools/workspace_status): a new commit relabels the images and rebuilds
# nothing else.
_LABELS_CMD = """
version=$$(sed -n 's/^STABLE_VERSION //p' bazel-out/stable-status.txt)
revision=$$(sed -n 's/^STABLE_GIT_COMMIT //p' bazel-out/stable-status.txt)
cat >$@ <<LABELS
org.opencontainers.image.title={service}
org.opencontainers.image.source=https://github.com/onlinebooks/bookstore
org.opencontainers.image.version=$${{version:-unknown}}
org.opencontainers.image.revision=$${{revision:-unknown}}
LABELS
"""

# The files of the base (//tools/oci:rootfs) made from a Go module at build
# time, for the SBOMs: the CA roots come from go.mod's x509roots/fallback.
_BASE_ORIGINS = {
    "/etc/ssl/certs/ca-certificates.crt": "golang.org/x/crypto/x509roots/fallback",
}

def linux_images(name, binary, path, **kwargs):
    """Defines <name>_<arch> for each of PLATFORMS: binary at path, on //tools/oci:base_<arch>.

    The binary is built for the image's platform (<name>_<arch>_binary), in
    a layer of its own (<name>_<arch>_layer).

    Args:
      name: the stem of the image targets.
      binary: the go_binary (pure, so it needs nothing from the base).
      path: where the binary is in the image.
      **kwargs: for each oci_image (entrypoint, labels...); visibility
        also for the binaries.
    """
    visibility = kwargs.get("visibility")
    for arch, platform in PLATFORMS.items():
        image = "%s_%s" % (name, arch)
        go_cross_binary(
            name = image + "_binary",
            platform = platform,
            target = binary,
            visibility = visibility,
        )

        # Root-owned and read-only: the process cannot rewrite its own binary.
        # Gzipped here, by choice: oci_image stores a layer as it is given, so
        # what the BUILD file says is what a registry stores and a node pulls.
        pkg_tar(
            name = image + "_layer",
            extension = "tar.gz",
            files = {":" + image + "_binary": path},
            mode = "0555",
        )
        oci_image(
            name = image,
            base = "//tools/oci:base_" + arch,
            tars = [":" + image + "_layer"],
            **kwargs
        )

def service_image(name, service, binary, exposed_ports, visibility = None):
    """Defines <name>: an oci_image_index of <name>_amd64 and <name>_arm64.

    Each image (linux_images) has the binary at /usr/local/bin/<service> as
    its entrypoint. Also defines <name>.digest (the index's, rules_oci),
    <name>_labels, which both images carry, and <name>_<arch>_sbom, each
    image's CycloneDX SBOM (sbom.bzl).

    Args:
      name: the index target.
      service: the service's name: the binary's name in the image, and its title.
      binary: the go_binary (pure, so it needs nothing from the base).
      exposed_ports: the ports the service listens on, e.g. ["50051/tcp"].
      visibility: of the image targets.
    """
    entrypoint = "/usr/local/bin/" + service
    native.genrule(
        name = name + "_labels",
        outs = [name + "_labels.txt"],
        cmd = _LABELS_CMD.format(service = service),
        stamp = 1,
    )
    linux_images(
        name = name,
        binary = binary,
        path = entrypoint,
        entrypoint = [entrypoint],
        exposed_ports = exposed_ports,
        labels = ":" + name + "_labels",
        visibility = visibility,
    )
    for arch in PLATFORMS:
        image_sbom(
            name = "%s_%s_sbom" % (name, arch),
            image = ":%s_%s" % (name, arch),
            binary = ":%s_%s_binary" % (name, arch),
            binary_path = entrypoint,
            origins = _BASE_ORIGINS,
            repository = "bookstore/" + service,
            visibility = visibility,
        )

    # One digest for both: a registry serves each node the image of its
    # platform.
    oci_image_index(
        name = name,
        images = [":%s_%s" % (name, arch) for arch in PLATFORMS],
        visibility = visibility,
    )
