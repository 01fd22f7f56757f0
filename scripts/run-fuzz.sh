#!/bin/bash
# scripts/run-fuzz.sh SECONDS — runs every libFuzzer harness in build/fuzz/ for SECONDS each
# (default 30), starting from its seed corpus in fuzz/corpus/NAME/ (copied to fuzz/work/NAME/,
# which keeps what the run found). Crashes are written to fuzz/work/ and fail the run.
set -u
SECS=${1:-30}
cd "$(dirname "$0")/.."
rc=0
for h in build/fuzz/fuzz_*; do
	[ -x "$h" ] || continue
	name=${h#build/fuzz/fuzz_}
	mkdir -p "fuzz/work/$name"
	[ -d "fuzz/corpus/$name" ] && cp -rn "fuzz/corpus/$name/." "fuzz/work/$name/"
	echo "== fuzz_$name for ${SECS}s"
	if "$h" -max_total_time="$SECS" -rss_limit_mb=2048 -artifact_prefix="fuzz/work/$name-" \
		"fuzz/work/$name" 2>&1 | tail -3; then :; fi
	if ls fuzz/work/"$name"-crash-* fuzz/work/"$name"-leak-* fuzz/work/"$name"-oom-* >/dev/null 2>&1; then
		echo "fuzz_$name: FOUND PROBLEMS (inputs in fuzz/work/)"
		rc=1
	fi
done
exit $rc
