"""Python code and type stubs for proto_library targets, for gRPC clients.

Offline there is neither rules_python's py_proto_library nor grpc's
py_grpc_library (both come from the Bazel Central Registry), so this rule
does what they do with Debian's pinned generators, installed in the build's
chroot by tools/bazel next to protoc:

  <file>_pb2.py, <file>_pb2_grpc.py   protoc's python_out and grpc_python_plugin
  <file>_pb2.pyi, <file>_pb2_grpc.pyi  mypy-protobuf's stubs, for type checks

The files land at the proto's import path (bookstore/recommendations/v1/...),
so Python imports them by the proto package's name, and the rule's PyInfo
puts their root on sys.path.
"""

_GENERATORS = {
    # protoc plugin name -> (its executable, the suffix of each output)
    "python": (None, "_pb2.py"),
    "grpc_python": ("/usr/bin/grpc_python_plugin", "_pb2_grpc.py"),
    "mypy": ("/usr/bin/protoc-gen-mypy", "_pb2.pyi"),
    "mypy_grpc": ("/usr/bin/protoc-gen-mypy_grpc", "_pb2_grpc.pyi"),
}

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

    args = ctx.actions.args()
    # From the sources, not the descriptor sets: those lack the comments that
    # document the generated classes.
    args.add_all(proto_info.transitive_proto_path, format_each = "--proto_path=%s")
    for plugin, (executable, _) in _GENERATORS.items():
        if executable:
            args.add("--plugin=protoc-gen-%s=%s" % (plugin, executable))
        args.add("--%s_out=%s" % (plugin, out_root))
    args.add_all(import_paths)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = proto_info.transitive_sources,
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

py_grpc_proto_library = rule(
    implementation = _py_grpc_proto_library_impl,
    doc = "Python messages, gRPC stubs and their .pyi type stubs for one proto_library.",
    attrs = {
        "proto": attr.label(mandatory = True, providers = [ProtoInfo]),
        "_protoc": attr.label(
            default = "@protobuf//:protoc",
            executable = True,
            cfg = "exec",
        ),
    },
)
