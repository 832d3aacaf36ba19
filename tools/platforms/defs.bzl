"""HOST_ONLY: for target_compatible_with, targets built for the machine itself.

Python's are: they run on the machine's own interpreter, and Bazel 7's py
rules need a C toolchain for the target platform, which a cross-build
(--platforms=@rules_go//go/toolchain:linux_arm64 on an amd64 machine) does
not have. A cross-build skips them.
"""

HOST_ONLY = select({
    Label("//tools/platforms:host"): [],
    "//conditions:default": ["@platforms//:incompatible"],
})
