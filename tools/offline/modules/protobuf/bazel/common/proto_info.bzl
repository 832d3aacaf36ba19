"""ProtoInfo, as protobuf's bazel/common/proto_info.bzl exports it."""

load(":builtins.bzl", "BUILTIN_PROTO_INFO")

ProtoInfo = BUILTIN_PROTO_INFO
