"""go_test under the race detector wherever it can run.

Gazelle writes every go_test with this one (`# gazelle:map_kind` in the root
BUILD.bazel).
"""

load("@rules_go//go:def.bzl", _go_test = "go_test")

def go_test(name, **kwargs):
    """rules_go's go_test, with race = "on" when built for the machine itself.

    The race detector needs cgo, hence a C toolchain for the target
    platform: the host's own is there, one for another platform (a
    cross-build with --platforms=@rules_go//go/toolchain:linux_arm64) is
    not, nor on a platform that turns cgo off. A flag for the whole build
    (--@rules_go//go/config:race) cannot tell these apart; a select on the
    target platform can. Tests with
    pure = "on" (no cgo) keep race off, and --//tools/go:race=false turns
    it off for all (benchmarks).

    Args:
      name: the test.
      **kwargs: rules_go's go_test attributes; race, if given, wins.
    """
    if kwargs.get("pure") != "on" and "race" not in kwargs:
        kwargs["race"] = select({
            Label("//tools/go:race_on_host_cgo_off"): "auto",
            Label("//tools/go:race_on_host"): "on",
            "//conditions:default": "auto",
        })
    _go_test(name = name, **kwargs)
