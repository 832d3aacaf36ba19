"""pure_binary: another module's go_binary, built pure Go.

rules_go's go_binary has `pure` for this repository's binaries; a binary of
a go_deps module cannot be given the attribute, and its library is private
to its package, so it cannot be embedded in one of ours either. This
transition sets what `pure = "on"` would.
"""

def _pure_transition_impl(_settings, _attr):
    # Pure Go has no cgo, hence no race detector.
    return {
        "@rules_go//go/config:pure": True,
        "@rules_go//go/config:race": False,
    }

_pure_transition = transition(
    implementation = _pure_transition_impl,
    inputs = [],
    outputs = [
        "@rules_go//go/config:pure",
        "@rules_go//go/config:race",
    ],
)

def _pure_binary_impl(ctx):
    binary = ctx.attr.binary[0][DefaultInfo]
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = out, target_file = binary.files_to_run.executable, is_executable = True)
    return DefaultInfo(executable = out, runfiles = binary.default_runfiles)

pure_binary = rule(
    doc = "The binary, built pure Go (no cgo, no race detector), as an executable of this package.",
    implementation = _pure_binary_impl,
    executable = True,
    attrs = {
        "binary": attr.label(cfg = _pure_transition, executable = True, mandatory = True),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)
