"""package_metadata with the attributes gazelle's go_deps sets."""

PackageMetadataInfo = provider(
    doc = "Identifies a package (purl) for supply-chain tooling.",
    fields = {"purl": "The package URL, https://github.com/package-url/purl-spec."},
)

def _package_metadata_impl(ctx):
    return [PackageMetadataInfo(purl = ctx.attr.purl)]

_package_metadata = rule(
    implementation = _package_metadata_impl,
    attrs = {"purl": attr.string(mandatory = True)},
)

def package_metadata(name, purl, **kwargs):
    # The repository's default_package_metadata names this very target, so it
    # must not apply to itself (as in the real module).
    _package_metadata(name = name, purl = purl, applicable_licenses = [], **kwargs)
