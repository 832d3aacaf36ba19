#!/bin/sh
# The build's openssl. Bazel actions run inside tools/bazel's chroot, so this
# is the chroot's openssl, installed by its recipe, not one found on PATH.
# (A Bazel outside the chroot uses the host's /usr/bin/openssl, which must be
# OpenSSL 3.4 or newer for -not_before/-not_after.)
exec /usr/bin/openssl "$@"
