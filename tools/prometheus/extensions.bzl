"""Prometheus (promtool, and the server) from Debian's package, for Bazel.

Prometheus publishes its release binaries only on GitHub, which an offline
machine here cannot reach, and building promtool from its Go module would
pull every service discovery plugin's SDK into go.mod and the build. Debian
builds the same source for linux/amd64 and linux/arm64, and its mirror keeps
a stable release's package at one address (snapshot.debian.org keeps it for
ever), so the package is what Bazel fetches, pinned by sha256, on a connected
machine and an offline one alike.

Debian packages no macOS build: there the targets are incompatible, and
`bazel test //...` skips the tests that need them, saying so, instead of
failing.
"""

# Debian bookworm's prometheus (Prometheus 2.42.0), per Debian architecture:
# the package's sha256, and its sha1, which is its snapshot.debian.org name.
_VERSION = "2.42.0+ds-5+deb12u1"
_DEBS = {
    "amd64": struct(
        sha256 = "81d59a24fce84f7fbe97a45a4f2914b6a5881b5cd1db2a6a0e129e515e1a5f55",
        sha1 = "5c841aaa0d406bb2700ea347da12010ac7752fed",
    ),
    "arm64": struct(
        sha256 = "ca131aa102390083398afbc80be9c8dd1dda78f9f92154fc00df8f7f1f4556e9",
        sha1 = "cff6a336432d5e8e884664e109476cd83779e9c1",
    ),
}

# Bazel's names of the host's CPU, as Debian names them.
_DEBIAN_ARCH = {
    "amd64": "amd64",
    "x86_64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
}

_BUILD = """\
# Debian's prometheus {version} for linux/{arch} (tools/prometheus).
package(default_visibility = ["//visibility:public"])

filegroup(
    name = "promtool",
    srcs = ["deb/usr/bin/promtool"],
)

filegroup(
    name = "prometheus",
    srcs = ["deb/usr/bin/prometheus"],
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
    deb = _DEBS[arch]
    rctx.download_and_extract(
        url = [
            "https://deb.debian.org/debian/pool/main/p/prometheus/prometheus_%s_%s.deb" % (_VERSION, arch),
            "https://snapshot.debian.org/file/" + deb.sha1,
        ],
        sha256 = deb.sha256,
        type = "deb",
    )
    rctx.extract("data.tar.xz", output = "deb")
    rctx.file("BUILD.bazel", _BUILD.format(version = _VERSION, arch = arch))

_debian_prometheus = repository_rule(
    implementation = _debian_prometheus_impl,
    doc = "Debian's prometheus package for the host, or incompatible targets where there is none.",
)

def _prometheus_impl(module_ctx):
    _debian_prometheus(name = "prometheus")
    return module_ctx.extension_metadata(reproducible = True)

prometheus = module_extension(
    implementation = _prometheus_impl,
    doc = "The @prometheus repository: :promtool and :prometheus for the host.",
)
