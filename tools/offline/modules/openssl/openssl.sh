#!/bin/sh
# Bazel's actions run in tools/bazel's chroot, so this is the chroot's
# openssl, installed and pinned there.
exec /usr/bin/openssl "$@"
