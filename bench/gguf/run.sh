#!/bin/sh
# bench/gguf/run.sh — GGUF open+validate time vs reading the file once, for the largest
# reference model in $SECAI_SHARED and a generated ~1 GB model in /tmp (deleted afterwards).
# Prints figures; never fails the build.
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SECAI_SHARED:-$ROOT/../shared}
BIN=$ROOT/$BUILD/bench/gguf/bench_gguf
[ -x "$BIN" ] || BIN=$BUILD/bench/gguf/bench_gguf
if [ ! -x "$BIN" ]; then
	echo "bench_gguf not built ($BIN)"
	exit 0
fi
catms() { # wall time of `cat FILE > /dev/null`, in ms
	s=$(date +%s%N); cat "$1" > /dev/null; e=$(date +%s%N)
	echo "  cat > /dev/null (shell): $(( (e - s) / 1000000 )) ms"
}
largest=$(ls -S "$SHARED"/llamacpp-ref/models/*.gguf 2>/dev/null | head -1)
if [ -n "$largest" ]; then
	"$BIN" "$largest" || true
	catms "$largest"
else
	echo "SKIP: reference models (SECAI_SHARED not found: $SHARED)"
fi
gen=$(mktemp /tmp/secai-bench-gguf.XXXXXX)
trap 'rm -f "$gen"' EXIT INT TERM
if "$BIN" --generate "$gen"; then
	catms "$gen"
else
	echo "could not generate a 1 GB file in /tmp (disk space?)"
fi
rm -f "$gen"
exit 0
