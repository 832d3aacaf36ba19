"""Prometheus (promtool, and the server) from Debian's packages, for Bazel.

Prometheus publishes its release binaries only on GitHub, which an offline
machine here cannot reach, and building promtool from its Go module would
pull every service discovery plugin's SDK into go.mod and the build. Debian
builds the same source for linux/amd64 and linux/arm64, and its mirror keeps
a stable release's packages at one address (snapshot.debian.org keeps them
for ever), so those are what Bazel fetches, pinned by sha256, on a connected
machine and an offline one alike.

Debian packages no macOS build: there the targets are incompatible, and
`bazel test //...` skips the tests that need them, saying so, instead of
failing.
"""

# Debian trixie's prometheus and promtool (Prometheus 2.53.3, which has
# Kubernetes service discovery; bookworm's 2.42 was built without it), per
# package and Debian architecture: each package's sha256, and its sha1,
# which is its name on snapshot.debian.org.
_VERSION = "2.53.3+ds1-2"
_DEBS = {
    "prometheus": {
        "amd64": struct(
            sha256 = "58c3e6a86c56cb3bfd71032fa48d65945d526441a212f5815dfe5ed9cb787ecc",
            sha1 = "a95e279cc9229f251da84c408029de47ebf9e94a",
        ),
        "arm64": struct(
            sha256 = "59b459dee0ceef9c645a98166ea00f0d10946391a5d486505360e2d21cd1ddec",
            sha1 = "9ffb7a2cab132a172c2912e7fb0d0d24d2986fe8",
        ),
    },
    "promtool": {
        "amd64": struct(
            sha256 = "ff27654eacc95abd846d344e91fe4ba3b4f0588a50d606ed1d2f09ad3408722f",
            sha1 = "1dffc5d47ad29123e1b1cb76deecc94a3d735e0a",
        ),
        "arm64": struct(
            sha256 = "cc1d5889b4d2e2ef92a6984039d88c11993ad3c73f5e74acd3ee15adaefb764c",
            sha1 = "0a54a83bbebacfa9af0fb95cdccdea99a7f923b0",
        ),
    },
}

# Bazel's names of the host's CPU, as Debian names them.
_DEBIAN_ARCH = {
    "amd64": "amd64",
    "x86_64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
}

# The platform each Debian architecture's binaries run on: a build for
# another (a remote executor, --platforms) gets incompatible targets, not the
# wrong binary.
_CONSTRAINTS = {
    "amd64": ["@platforms//os:linux", "@platforms//cpu:x86_64"],
    "arm64": ["@platforms//os:linux", "@platforms//cpu:aarch64"],
}

_BUILD = """\
# Debian's prometheus and promtool {version} for linux/{arch} (tools/prometheus).
package(default_visibility = ["//visibility:public"])

filegroup(
    name = "promtool",
    srcs = ["promtool/usr/bin/promtool"],
    target_compatible_with = {constraints},
)

filegroup(
    name = "prometheus",
    srcs = ["prometheus/usr/bin/prometheus"],
    target_compatible_with = {constraints},
)
"""

_BUILD_UNSUPPORTED = """\
# Debian packages Prometheus for Linux only; this host is {host}.
package(default_visibility = ["//visibility:public"])

filegroup(
    name = "promtool",
    target_compatible_with = ["@platforms//:incompatible"],
)

filegroup(
    name = "prometheus",
    target_compatible_with = ["@platforms//:incompatible"],
)
"""

def _debian_prometheus_impl(rctx):
    arch = _DEBIAN_ARCH.get(rctx.os.arch)
    if "linux" not in rctx.os.name or not arch:
        rctx.file("BUILD.bazel", _BUILD_UNSUPPORTED.format(host = "%s/%s" % (rctx.os.name, rctx.os.arch)))
        return
    for package, debs in _DEBS.items():
        deb = debs[arch]
        rctx.download_and_extract(
            url = [
                "https://deb.debian.org/debian/pool/main/p/prometheus/%s_%s_%s.deb" % (package, _VERSION, arch),
                "https://snapshot.debian.org/file/" + deb.sha1,
            ],
            output = package + "/deb",
            sha256 = deb.sha256,
            type = "deb",
        )
        rctx.extract(package + "/deb/data.tar.xz", output = package)
        rctx.delete(package + "/deb")
    rctx.file("BUILD.bazel", _BUILD.format(version = _VERSION, arch = arch, constraints = repr(_CONSTRAINTS[arch])))

_debian_prometheus = repository_rule(
    implementation = _debian_prometheus_impl,
    doc = "Debian's prometheus and promtool for the host, or incompatible targets where there are none.",
)

def _prometheus_impl(module_ctx):
    _debian_prometheus(name = "prometheus")
    return module_ctx.extension_metadata(reproducible = True)

prometheus = module_extension(
    implementation = _prometheus_impl,
    doc = "The @prometheus repository: :promtool and :prometheus for the host.",
)
