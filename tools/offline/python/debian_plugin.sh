#!/bin/sh
# The chroot's /usr/bin program of this sh_binary's own name: Bazel's
# actions run in tools/bazel's chroot, which installs and pins it.
exec "/usr/bin/${0##*/}" "$@"
