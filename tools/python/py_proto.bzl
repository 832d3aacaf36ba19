"""Python code and type stubs for proto_library targets, for gRPC clients.

Offline there is neither rules_python's py_proto_library nor grpc's
py_grpc_library (both come from the Bazel Central Registry), so this rule
does what they do, with protoc and the protoc plugins of the
py_grpc_generators target that --//tools/python:generators names:

  <file>_pb2.py, <file>_pb2_grpc.py   protoc's python_out and gRPC's Python
                                      plugin
  <file>_pb2.pyi, <file>_pb2_grpc.pyi  mypy-protobuf's plugins, for type
                                      checks

Offline they are Debian's, pinned in the build's chroot
(tools/offline/python); docs/python.md shows a connected machine's. Where
none is named, and in a cross-build, the targets are incompatible:
`bazel test //...` skips them.
The files land at the proto's import path (bookstore/recommendations/v1/...),
so Python imports them by the proto package's name, and the rule's PyInfo
puts their root on sys.path.
"""

load("//tools/platforms:defs.bzl", "HOST_ONLY")

PyGrpcGeneratorsInfo = provider(
    doc = "The protoc plugins of py_grpc_proto_library.",
    fields = {
        "grpc_python": "FilesToRunProvider: gRPC's Python plugin (_pb2_grpc.py)",
        "mypy": "FilesToRunProvider: mypy-protobuf's protoc-gen-mypy (_pb2.pyi)",
        "mypy_grpc": "FilesToRunProvider: mypy-protobuf's protoc-gen-mypy_grpc (_pb2_grpc.pyi)",
    },
)

# protoc plugin name -> (PyGrpcGeneratorsInfo's field with its executable,
# or None for protoc's own; the suffix of each output)
_GENERATORS = {
    "python": (None, "_pb2.py"),
    "grpc_python": ("grpc_python", "_pb2_grpc.py"),
    "mypy": ("mypy", "_pb2.pyi"),
    "mypy_grpc": ("mypy_grpc", "_pb2_grpc.pyi"),
}

def _py_grpc_generators_impl(ctx):
    return [PyGrpcGeneratorsInfo(**{
        field: getattr(ctx.attr, field)[DefaultInfo].files_to_run
        for field, _ in _GENERATORS.values()
        if field
    })]

py_grpc_generators = rule(
    implementation = _py_grpc_generators_impl,
    doc = "The protoc plugins py_grpc_proto_library runs, for --//tools/python:generators.",
    attrs = {
        "grpc_python": attr.label(mandatory = True, executable = True, cfg = "exec", doc = "gRPC's Python plugin"),
        "mypy": attr.label(mandatory = True, executable = True, cfg = "exec", doc = "mypy-protobuf's protoc-gen-mypy"),
        "mypy_grpc": attr.label(mandatory = True, executable = True, cfg = "exec", doc = "mypy-protobuf's protoc-gen-mypy_grpc"),
    },
)

def _import_path(proto_info, src):
    root = proto_info.proto_source_root
    if root in ("", "."):
        return src.short_path
    return src.path.removeprefix(root + "/")

def _py_grpc_proto_library_impl(ctx):
    proto_info = ctx.attr.proto[ProtoInfo]
    outputs = []
    import_paths = []
    out_root = None
    for src in proto_info.direct_sources:
        import_path = _import_path(proto_info, src)
        stem = import_path.removesuffix(".proto")
        package_dir = stem.rpartition("/")[0]

        # The outputs are declared in the rule's package, so it must be the
        # import folder's place in the tree: the folder itself or ending in
        # "/" + it (not merely ending in its letters); any package for a
        # file at the import root.
        if package_dir and ctx.label.package != package_dir and not ctx.label.package.endswith("/" + package_dir):
            fail("%s: the package %s must end with the import folder %s of %s" % (
                ctx.label,
                ctx.label.package,
                package_dir,
                import_path,
            ))
        files = [ctx.actions.declare_file(stem.rpartition("/")[2] + suffix) for _, suffix in _GENERATORS.values()]
        outputs.extend(files)
        import_paths.append(import_path)

        # Where protoc's --*_out must point so that this file's outputs land
        # where they are declared; the same for every file of the package.
        out_root = files[0].path.removesuffix("/" + stem + _GENERATORS["python"][1])

    generators = ctx.attr._generators[PyGrpcGeneratorsInfo]
    args = ctx.actions.args()
    # From the sources, not the descriptor sets: those lack the comments that
    # document the generated classes.
    args.add_all(proto_info.transitive_proto_path, format_each = "--proto_path=%s")
    plugins = []
    for plugin, (field, _) in _GENERATORS.items():
        if field:
            executable = getattr(generators, field)
            plugins.append(executable)
            args.add("--plugin=protoc-gen-%s=%s" % (plugin, executable.executable.path))
        args.add("--%s_out=%s" % (plugin, out_root))
    args.add_all(import_paths)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = proto_info.transitive_sources,
        tools = plugins,
        outputs = outputs,
        mnemonic = "PyGrpcProto",
        progress_message = "Generating Python gRPC code for %{label}",
    )

    # The runfiles path of out_root, which holds bookstore/..., goes on sys.path.
    package_root = ctx.label.package.removesuffix(package_dir).rstrip("/")
    import_root = "/".join([p for p in [ctx.label.workspace_name or ctx.workspace_name, package_root] if p])
    py_sources = depset([f for f in outputs if f.extension == "py"])
    return [
        DefaultInfo(files = depset(outputs), runfiles = ctx.runfiles(files = outputs)),
        PyInfo(transitive_sources = py_sources, imports = depset([import_root])),
    ]

_py_grpc_proto_library = rule(
    implementation = _py_grpc_proto_library_impl,
    doc = "Python messages, gRPC stubs and their .pyi type stubs for one proto_library.",
    attrs = {
        "proto": attr.label(mandatory = True, providers = [ProtoInfo]),
        "_generators": attr.label(default = "//tools/python:generators"),
        "_protoc": attr.label(
            default = "@protobuf//:protoc",
            executable = True,
            cfg = "exec",
        ),
    },
)

def py_grpc_proto_library(name, proto, target_compatible_with = [], **kwargs):
    """Python messages, gRPC stubs and their .pyi type stubs for one proto_library.

    Args:
      name: the target.
      proto: the proto_library.
      target_compatible_with: constraints beyond the two below.
      **kwargs: common attributes (visibility, tags, testonly).
    """
    _py_grpc_proto_library(
        name = name,
        proto = proto,
        # Skipped, with whatever depends on it, where no generators are
        # named, and in a cross-build (HOST_ONLY).
        target_compatible_with = target_compatible_with + select({
            Label("//tools/python:no_generators"): ["@platforms//:incompatible"],
            "//conditions:default": [],
        }) + HOST_ONLY,
        **kwargs
    )
