"""The well-known-type .proto files of the installed protobuf (Debian's libprotobuf-dev).

A repository of symlinks, so proto_library sees them at their standard import
paths (google/protobuf/*.proto).
"""

# name -> the other well-known types it imports, as protobuf's own BUILD has them.
WELL_KNOWN_TYPES = {
    "any": [],
    "api": ["source_context", "type"],
    "compiler_plugin": ["descriptor"],
    "descriptor": [],
    "duration": [],
    "empty": [],
    "field_mask": [],
    "source_context": [],
    "struct": [],
    "timestamp": [],
    "type": ["any", "source_context"],
    "wrappers": [],
}

def _src(name):
    return "google/protobuf/compiler/plugin.proto" if name == "compiler_plugin" else "google/protobuf/%s.proto" % name

def _system_protobuf_impl(rctx):
    build = ["package(default_visibility = [\"//visibility:public\"])\n"]
    for name, deps in WELL_KNOWN_TYPES.items():
        rctx.symlink("%s/%s" % (rctx.attr.include_dir, _src(name)), _src(name))
        build.append("proto_library(name = %r, srcs = [%r], deps = %r)\n" % (
            name + "_proto",
            _src(name),
            [":%s_proto" % d for d in deps],
        ))
    rctx.file("BUILD.bazel", "\n".join(build))

_system_protobuf = repository_rule(
    implementation = _system_protobuf_impl,
    attrs = {"include_dir": attr.string(default = "/usr/include")},
    local = True,
)

system_protobuf = module_extension(
    implementation = lambda _mctx: _system_protobuf(name = "system_protobuf"),
)
