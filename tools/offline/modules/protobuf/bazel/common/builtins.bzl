"""Bazel 7's built-in proto symbols under names that can be re-exported.

Starlark cannot write `ProtoInfo = ProtoInfo` in the file that exports it, so
the sibling files load these aliases instead.
"""

BUILTIN_PROTO_INFO = ProtoInfo
BUILTIN_PROTO_LANG_TOOLCHAIN_INFO = proto_common_do_not_use.ProtoLangToolchainInfo
