"""Wraps an installed protoc as an executable target."""

def _system_protoc_impl(ctx):
    launcher = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.write(
        output = launcher,
        content = '#!/bin/sh\nexec {} "$@"\n'.format(ctx.attr.path),
        is_executable = True,
    )
    return [DefaultInfo(executable = launcher, files = depset([launcher]))]

system_protoc = rule(
    implementation = _system_protoc_impl,
    attrs = {"path": attr.string(mandatory = True, doc = "Absolute path of protoc.")},
    executable = True,
)
