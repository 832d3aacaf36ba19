#!/usr/bin/env bash
# rules_oci 2.2.6's load.sh.tpl contract: the tarball goes to a container
# CLI's `load --input`: the loader attribute's, else docker's, else podman's
# from PATH. The tarball is made on the fly (upstream: bsdtar from an mtree
# spec; here: ocitool, with the same entries).
set -o pipefail -o errexit -o nounset

# --- begin runfiles.bash initialization v3 ---
set -uo pipefail; set +e; f=bazel_tools/tools/bash/runfiles/runfiles.bash
source "${RUNFILES_DIR:-/dev/null}/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "${RUNFILES_MANIFEST_FILE:-/dev/null}" | cut -f2- -d' ')" 2>/dev/null || \
  source "$0.runfiles/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "$0.runfiles_manifest" | cut -f2- -d' ')" 2>/dev/null || \
  { echo>&2 "ERROR: cannot find $f"; exit 1; }; f=; set -e
# --- end runfiles.bash initialization v3 ---

readonly OCITOOL="$(rlocation "{{ocitool}}")"
readonly IMAGE="$(rlocation "{{image}}")"
readonly REPO_TAGS="$(rlocation "{{repo_tags}}")"
readonly LOADER="{{loader}}"

if [[ -n "$LOADER" && -f "$(rlocation "$LOADER")" ]]; then
    CONTAINER_CLI="$(rlocation "$LOADER")"
elif command -v docker &> /dev/null; then
    CONTAINER_CLI="docker"
elif command -v podman &> /dev/null; then
    CONTAINER_CLI="podman"
else
    echo >&2 "Neither docker or podman could be found."
    echo >&2 "To use a different container runtime, pass an executable to the 'loader' attribute of oci_load."
    exit 1
fi

"$CONTAINER_CLI" load --input <(
    "$OCITOOL" tarball -image "$IMAGE" -repo-tags "$REPO_TAGS"
)
