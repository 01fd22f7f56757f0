#!/bin/sh
# bench/audit/run.sh — audit log speed, with baselines measured in the same run:
#   durable appends/s through secai-audit (group commit, 8 pipelined clients; and 1 client
#   waiting for each ack), and `securectl audit verify` MB/s beside `openssl dgst -sha256` of
#   the same bytes and beside SecAI OS's Python verification algorithm (bench/audit/secai_verify.py).
# Env: BUILD (default build), BENCH_ENTRIES (default 500000). Prints figures; never fails.
BUILD=${BUILD:-build}
N=${BENCH_ENTRIES:-500000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B="$ROOT/$BUILD"
[ -x "$B/secai-audit" ] && [ -x "$B/tools/audit_load" ] || { echo "bench/audit: build first (make)"; exit 0; }
T=$(mktemp -d /tmp/secai-bench-audit.XXXXXX)
export SECAI_HOME="$T" SECAI_LOG_LEVEL=warn
now() { date +%s.%N; }
"$B/secai-audit" 2>"$T/daemon.log" &
DPID=$!
i=0; while [ ! -S "$T/run/audit.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
echo "bench/audit: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
CLIENTS=8; PER=$((N / CLIENTS))
R=$("$B/tools/audit_load" "$T/run/audit.sock" $CLIENTS $PER 256 - bench)
echo "durable appends, $CLIENTS clients pipelining (group commit): $R"
R1=$("$B/tools/audit_load" "$T/run/audit.sock" 1 20000 1 - single)
echo "durable appends, 1 client, one at a time (fsync latency bound): $R1"
kill -TERM $DPID; wait $DPID 2>/dev/null
LOG="$T/audit/audit.jsonl"
BYTES=$(cat "$T"/audit/audit*.jsonl | wc -c)
cat "$T"/audit/audit*.jsonl > /dev/null  # warm the page cache for all three readers
t0=$(now); cat "$T"/audit/audit*.jsonl | openssl dgst -sha256 >/dev/null; t1=$(now)
t2=$(now); "$B/securectl" audit verify >"$T/verify.out" 2>&1; rc=$?; t3=$(now)
t4=$(now); /usr/bin/python3 "$ROOT/bench/audit/secai_verify.py" "$LOG" >/dev/null; t5=$(now)
awk -v b="$BYTES" -v o="$t1 $t0" -v v="$t3 $t2" -v p="$t5 $t4" -v rc=$rc 'BEGIN {
	split(o, a, " "); split(v, c, " "); split(p, d, " ");
	to = a[1]-a[2]; tv = c[1]-c[2]; tp = d[1]-d[2];
	printf "log: %.1f MB (%s)\n", b/1e6, (rc == 0 ? "verified intact" : "VERIFY FAILED");
	printf "openssl dgst -sha256 : %7.3f s  %7.0f MB/s  (baseline)\n", to, b/1e6/to;
	printf "securectl audit verify: %7.3f s  %7.0f MB/s  = %.2fx openssl (target >= 0.25x)\n", tv, b/1e6/tv, to/tv;
	printf "SecAI OS Python verify: %7.3f s  %7.0f MB/s  -> secai is %.1fx faster (target >= 10x)\n", tp, b/1e6/tp, tp/tv;
}'
sed -n 's/^ *\(entries\|checkpoints\) */  verify: \1 /p' "$T/verify.out"
rm -rf "$T"
exit 0
