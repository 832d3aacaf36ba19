#!/usr/bin/env bash
# bazel run //proto:update_baseline: when a release of the v1 API is cut,
# records the tree's API as the baseline that //proto:buf_breaking_test
# compares against (proto/v1-baseline.json, a buf image as JSON). Commit it
# with the release.
set -euo pipefail
buf="$1"
[[ $buf == /* ]] || buf="$PWD/$buf"
cd "$BUILD_WORKSPACE_DIRECTORY/proto"
HOME="${HOME:-/tmp}" "$buf" build -o v1-baseline.json
echo "wrote $BUILD_WORKSPACE_DIRECTORY/proto/v1-baseline.json"
