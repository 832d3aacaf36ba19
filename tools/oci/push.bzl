"""signed_push: a service image's push target, which also signs it."""

load("@rules_go//go:def.bzl", "go_binary")
load("@rules_oci//oci:defs.bzl", "oci_push")
load(":image.bzl", "PLATFORMS")

def signed_push(name, image, repository, remote_tags, key = "//certs:image_signing.key", visibility = None):
    """<name>: push a service_image's index, then sign and attest it (//go/cmd/publish).

    `bazel run :<name> [-- --repository HOST/REPO] [--tag TAG]` pushes the
    index with rules_oci's oci_push (<name>_unsigned), then attaches next
    to it, as cosign's OCI 1.1 referrers: each image's SBOM
    (<image>_<arch>_sbom), an SLSA provenance statement of the commit
    (<image>_labels) and this target, and the signature of the index, all
    signed with key.

    Args:
      name: the push target.
      image: the service_image's index, e.g. ":image".
      repository: oci_push's default repository.
      remote_tags: oci_push's default tags.
      key: the signing key, a PEM ECDSA P-256 private key.
      visibility: of the push target.
    """
    oci_push(
        name = name + "_unsigned",
        image = image,
        remote_tags = remote_tags,
        repository = repository,
        visibility = visibility,
    )
    sboms = ["%s_%s_sbom" % (image, arch) for arch in PLATFORMS]
    image_label = native.package_relative_label(image)
    go_binary(
        name = name,
        data = [
            ":%s_unsigned" % name,
            image + "_labels",
            key,
        ] + sboms,
        embed = ["//go/cmd/publish:publish_lib"],
        # As //k8s's binaries, so that sigstore-go builds once.
        pure = "on",
        visibility = visibility,
        # Linked in rather than args: //k8s:apply and the tests run the
        # binary themselves, where args would not reach it.
        x_defs = {
            "main.keyFile": "$(rlocationpath %s)" % key,
            "main.labelsFile": "$(rlocationpath %s_labels)" % image,
            "main.pushScript": "$(rlocationpath :%s_unsigned)" % name,
            "main.sbomFiles": ",".join(["$(rlocationpath %s)" % sbom for sbom in sboms]),
            "main.target": "//%s:%s" % (image_label.package, image_label.name),
        },
    )
