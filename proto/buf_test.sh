#!/usr/bin/env bash
# The API's checks by buf (//tools/buf), as Bazel tests (proto/BUILD.bazel).
#
#   buf_test.sh BUF lint                        buf lint passes on proto/
#   buf_test.sh BUF breaking BASELINE           nothing breaks against BASELINE
#   buf_test.sh BUF lint|breaking BASELINE SED WANT
#       the proto edited by the sed expression SED (a fixture: a change that
#       is wrong on purpose) fails the check, and buf's report contains WANT
#   buf_test.sh BUF compatible BASELINE SED
#       the proto edited by SED (a change v1 allows) passes buf breaking
#   buf_test.sh BUF refresh UPDATE BASELINE SED WANT
#       UPDATE (//proto:update_baseline) writes a baseline that the tree
#       passes against and that the breaking fixture SED fails against
set -euo pipefail
buf="$PWD/$1"
check="$2"
shift 2
export HOME="$TEST_TMPDIR" BUF_CACHE_DIR="$TEST_TMPDIR/buf-cache"
proto=bookstore/recommendations/v1/recommendations.proto

# A private copy of proto/, real files: fixtures edit it.
tree="$TEST_TMPDIR/proto"
rm -rf "$tree"
mkdir -p "$tree"
cp -L proto/buf.yaml "$tree/"
mkdir -p "$tree/$(dirname "$proto")"
cp -L "proto/$proto" "$tree/$proto"

edit() {
  sed -i -e "$1" "$tree/$proto"
  if cmp -s "$tree/$proto" "proto/$proto"; then
    echo "the fixture $1 changes nothing in $proto" >&2
    exit 1
  fi
}

must_fail() {
  local want="$1" out status=0
  shift
  out=$(cd "$tree" && "$buf" "$@" 2>&1) || status=$?
  if [[ $status == 0 ]]; then
    echo "buf $* passed on the fixture; want a failure with: $want" >&2
    exit 1
  fi
  if [[ "$out" != *"$want"* ]]; then
    echo "buf $* failed (exit $status) without saying: $want" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "buf $* refused the fixture, as it should: $out"
}

case "$check" in
  lint)
    if (($# == 0)); then
      (cd "$tree" && "$buf" lint)
    else
      edit "$2"
      must_fail "$3" lint
    fi
    ;;
  breaking)
    baseline="$PWD/$1"
    if (($# == 1)); then
      (cd "$tree" && "$buf" breaking --against "$baseline")
    else
      edit "$2"
      must_fail "$3" breaking --against "$baseline"
    fi
    ;;
  compatible)
    baseline="$PWD/$1"
    edit "$2"
    (cd "$tree" && "$buf" breaking --against "$baseline")
    ;;
  refresh)
    update="$PWD/$1"
    mkdir -p "$TEST_TMPDIR/workspace"
    cp -r "$tree" "$TEST_TMPDIR/workspace/proto"
    BUILD_WORKSPACE_DIRECTORY="$TEST_TMPDIR/workspace" "$update" "$buf"
    baseline="$TEST_TMPDIR/workspace/$2"
    (cd "$tree" && "$buf" breaking --against "$baseline")
    edit "$3"
    must_fail "$4" breaking --against "$baseline"
    ;;
  *)
    echo "usage: buf_test.sh BUF lint|breaking|compatible|refresh ..." >&2
    exit 2
    ;;
esac
