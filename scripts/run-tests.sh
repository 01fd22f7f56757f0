#!/bin/bash
# scripts/run-tests.sh BUILD — runs every test of secai against the binaries in BUILD:
#   1. each cmocka unit test binary under BUILD/tests/
#   2. the end-to-end pytest suite in tests/e2e (real daemons on loopback / Unix sockets)
#   3. each libFuzzer harness over its seed corpus plus FUZZ_CHECK_SECONDS (default 5) of fuzzing
# Reference data comes from $SECAI_SHARED (default ../shared); tests that need it skip loudly.
# Ends with one line: "checks: N passed, N failed, N skipped". Exit 1 if anything failed.
set -u
BUILD=${1:-build/asan}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SECAI_BUILD="$ROOT/$BUILD"
export SECAI_SRC="$ROOT"
export SECAI_SHARED="${SECAI_SHARED:-$ROOT/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-5}
passed=0 failed=0 skipped=0
failures=()
logdir=$(mktemp -d /tmp/secai-tests.XXXXXX)

if [ ! -d "$SECAI_SHARED" ]; then
	echo "NOTE: reference data not found at SECAI_SHARED=$SECAI_SHARED —" \
		"conformance tests that need it are SKIPPED (set SECAI_SHARED to run them)"
fi

echo "== unit tests (cmocka, $BUILD)"
while IFS= read -r t; do
	name=${t#"$SECAI_BUILD/tests/"}
	out="$logdir/$(echo "$name" | tr / _).log"
	if "$t" >"$out" 2>&1; then rc=0; else rc=$?; fi
	p=$(grep -aoE '\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
	f=$(grep -aoE '\[  FAILED  \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
	s=$(grep -aoE '\[  SKIPPED \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '  %-40s %4d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
	grep -a 'SKIP' "$out" | grep -av '^\[' | sed 's/^/      /' | head -5
	if [ "$f" -ne 0 ]; then failures+=("$name"); sed 's/^/      | /' "$out" | tail -40; fi
done < <(find "$SECAI_BUILD/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)

echo "== end-to-end tests (pytest)"
if ls tests/e2e/test_*.py >/dev/null 2>&1; then
	out="$logdir/pytest.log"
	/usr/bin/python3 -m pytest -q -rs tests/e2e >"$out" 2>&1
	rc=$?
	tail -30 "$out" | sed 's/^/  /'
	sum=$(grep -aE '^[=]* ?[0-9]+ (passed|failed|skipped|error)' "$out" | tail -1)
	p=$(echo "$sum" | grep -oE '[0-9]+ passed' | awk '{print $1+0}'); p=${p:-0}
	f=$(echo "$sum" | grep -oE '[0-9]+ (failed|error)' | awk '{s+=$1} END {print s+0}')
	s=$(echo "$sum" | grep -oE '[0-9]+ skipped' | awk '{print $1+0}'); s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	[ "$f" -ne 0 ] && failures+=("pytest")
fi

echo "== fuzz harnesses (seed corpus + ${FUZZ_CHECK_SECONDS}s each)"
for h in build/fuzz/fuzz_*; do
	[ -x "$h" ] || continue
	name=${h#build/fuzz/fuzz_}
	work=$(mktemp -d /tmp/secai-fuzz.XXXXXX)
	[ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
	out="$logdir/fuzz_$name.log"
	if "$h" -max_total_time="$FUZZ_CHECK_SECONDS" -rss_limit_mb=2048 -artifact_prefix="$logdir/" \
		"$work" >"$out" 2>&1; then
		passed=$((passed + 1)); echo "  fuzz_$name: ok ($(grep -aoE 'Done [0-9]+ runs' "$out" | tail -1))"
	else
		failed=$((failed + 1)); failures+=("fuzz_$name"); echo "  fuzz_$name: FAILED"; tail -30 "$out" | sed 's/^/      | /'
	fi
	rm -rf "$work"
done

echo
if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]} (logs in $logdir)"; fi
echo "checks: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
