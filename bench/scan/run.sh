#!/bin/sh
# bench/scan/run.sh — weight statistics + per-tensor SHA-256 + manifest (`securectl scan`'s
# static pieces) on a generated 1 GiB F16 GGUF, against `openssl dgst -sha256` of the same file
# in the same run (both with the file in the page cache). Target: ratio <= 1.5.
# Never fails the build: every error prints a line and exits 0.
BUILD=${BUILD:-build}
BIN=$BUILD/bench/scan/scan_bench
MIB=${SCAN_BENCH_MIB:-1024}
F=$(mktemp /tmp/secai-bench-scan.XXXXXX.gguf) || { echo "scan bench: no temp file"; exit 0; }
trap 'rm -f "$F"' EXIT INT TERM
[ -x "$BIN" ] || make -s BUILD="$BUILD" "$BIN" >/dev/null 2>&1 || { echo "scan bench: cannot build $BIN"; exit 0; }
"$BIN" gen "$F" "$MIB" || { echo "scan bench: cannot write $F"; exit 0; }
now() { date +%s.%N; }
cat "$F" >/dev/null
t0=$(now); openssl dgst -sha256 "$F" >/dev/null; t1=$(now)
out=$("$BIN" scan "$F") || { echo "scan bench: scan failed"; exit 0; }
t2=$(now); openssl dgst -sha256 "$F" >/dev/null; t3=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v o="$out" -v mib="$MIB" 'BEGIN {
	split(o, s, " "); ossl = ((b - a) < (d - c) ? (b - a) : (d - c));
	printf "scan (stats+sha256+manifest, 2 threads) on %d MiB F16 GGUF: %.3f s (%d tensors, %s)\n", mib, s[1], s[2], s[3];
	printf "openssl dgst -sha256 same file: %.3f s\n", ossl;
	printf "ratio scan/openssl: %.2f (target <= 1.5)\n", s[1] / ossl }'
exit 0
