#!/usr/bin/env bash
# bazel run //compose -- <compose arguments>: `up -d`, `ps`, `logs`, `down`...
#
# Runs the pinned Compose (sid's docker-compose 2.40.3, which tools/bazel
# installs into Bazel's chroot) on compose.yaml, with the development
# certificates of //certs from this target's runfiles; the Docker engine is
# the host's (DOCKER_HOST, set by tools/bazel).
#
# The certificates are staged in BOOKSTORE_CERTS (default: .compose/tls in
# the workspace), because Bazel leaves the keys readable by root only and
# the services run as user 65532: there each key belongs to 65532 with mode
# 0400. Compose cannot do this itself: it bind-mounts secrets files with
# their host owner and mode.

# --- begin runfiles.bash initialization v3 ---
set -uo pipefail; set +e; f=bazel_tools/tools/bash/runfiles/runfiles.bash
source "${RUNFILES_DIR:-/dev/null}/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "${RUNFILES_MANIFEST_FILE:-/dev/null}" | cut -f2- -d' ')" 2>/dev/null || \
  source "$0.runfiles/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "$0.runfiles_manifest" | cut -f2- -d' ')" 2>/dev/null || \
  { echo>&2 "ERROR: cannot find $f"; exit 1; }; f=; set -e
# --- end runfiles.bash initialization v3 ---

readonly COMPOSE=/usr/libexec/docker/cli-plugins/docker-compose
if [[ ! -x "$COMPOSE" ]]; then
  echo "compose: no $COMPOSE; run this through tools/bazel, whose chroot has Compose" >&2
  exit 1
fi
if [[ -z "${BOOKSTORE_CERTS:-}" ]]; then
  if [[ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]]; then
    echo "compose: set BOOKSTORE_CERTS, or run this with bazel run" >&2
    exit 1
  fi
  BOOKSTORE_CERTS="$BUILD_WORKSPACE_DIRECTORY/.compose/tls"
fi
export BOOKSTORE_CERTS
mkdir -p "$BOOKSTORE_CERTS"
for f in ca.pem marketplace.pem recommendations.pem; do
  install -m 0444 "$(rlocation "_main/certs/$f")" "$BOOKSTORE_CERTS/$f"
done
for f in marketplace.key recommendations.key; do
  install -m 0400 -o 65532 -g 65532 "$(rlocation "_main/certs/$f")" "$BOOKSTORE_CERTS/$f"
done
exec "$COMPOSE" --file "$(rlocation _main/compose/compose.yaml)" "$@"
