"""service_image: a service's Go binary as an image on //tools/oci:base."""

load("@rules_go//go:def.bzl", "go_cross_binary")
load("@rules_oci//oci:defs.bzl", "oci_image")
load("@rules_pkg//pkg:tar.bzl", "pkg_tar")

# The platform of the images (//tools/oci:base says linux/amd64): their
# binaries are built for it whatever the host, a Mac or an arm64 machine.
IMAGE_PLATFORM = "@rules_go//go/toolchain:linux_amd64"

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

def service_image(name, service, binary, exposed_ports, visibility = None):
    """Defines <name>: binary at /usr/local/bin/<service>, run as its entrypoint.

    Also defines <name>.digest (rules_oci), <name>_binary (the binary for
    IMAGE_PLATFORM), <name>_layer and <name>_labels.

    Args:
      name: the image target.
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

    go_cross_binary(
        name = name + "_binary",
        platform = IMAGE_PLATFORM,
        target = binary,
    )

    # Root-owned and read-only: the service cannot rewrite its own binary.
    # Gzipped here, by choice: oci_image stores a layer as it is given, so
    # what the BUILD file says is what a registry stores and a node pulls.
    pkg_tar(
        name = name + "_layer",
        extension = "tar.gz",
        files = {":" + name + "_binary": entrypoint},
        mode = "0555",
    )
    oci_image(
        name = name,
        base = "//tools/oci:base",
        entrypoint = [entrypoint],
        exposed_ports = exposed_ports,
        labels = ":" + name + "_labels",
        tars = [":" + name + "_layer"],
        visibility = visibility,
    )
