"""ProtoLangToolchainInfo, as protobuf's bazel/common exports it."""

load(":builtins.bzl", "BUILTIN_PROTO_LANG_TOOLCHAIN_INFO")

ProtoLangToolchainInfo = BUILTIN_PROTO_LANG_TOOLCHAIN_INFO
