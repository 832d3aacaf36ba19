"""proto_library as protobuf's own bazel/proto_library.bzl exports it."""

def proto_library(**kwargs):
    native.proto_library(**kwargs)
