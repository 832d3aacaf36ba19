#!/usr/bin/env bash
# Fuzzes one Go fuzz target for a bounded number of inputs, as a Bazel test:
#
#   fuzz_test.sh TEST_BINARY FUZZ_TARGET EXECUTIONS
#
# TEST_BINARY is a go_test; Go's fuzzing engine runs inside it, mutating the
# target's seed corpus (its f.Add calls). The bound is a count, not a time:
# Go 1.26's engine can fail a run at the end of a -test.fuzztime duration
# with a bare "context deadline exceeded" and no failing input, when its
# coordinator sees the deadline before its workers' context does
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race, and
# does the same work on a busy machine as on a quiet one.
#
# rules_go does not build tests with the compiler's coverage instrumentation
# for fuzzing, so the mutation is not coverage-guided: this is a volume check
# for panics and broken invariants, not a search that digs deep. A failure
# prints the input; add it as a seed.
set -euo pipefail
bin="$PWD/$1"
target="$2"
executions="$3"
# The engine writes its cache and any failing input under the working folder.
cd "$TEST_TMPDIR"
status=0
"$bin" -test.run='^$' -test.fuzz="^${target}\$" -test.fuzztime="${executions}x" \
  -test.fuzzcachedir="$TEST_TMPDIR/cache" -test.parallel=2 -test.v 2>&1 | tail -n 60 || status=$?
if [[ -d testdata/fuzz ]]; then
  echo "failing inputs:" && find testdata/fuzz -type f -exec sh -c 'echo "== $1"; cat "$1"' _ {} \;
fi
exit "$status"
