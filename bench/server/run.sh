#!/bin/sh
# bench/server/run.sh — secai-infer under load: N concurrent streaming clients for SECONDS,
# reporting requests/s, tokens/s, time to first token p50/p99 (beside a bare loopback HTTP
# round trip measured in the same run), errors (target 0) and the server's RSS before/after.
# The server runs as shipped (sealed), on the demo model unless MODEL is given (promoted through
# the quarantine first, as secai-infer serves only what the registry lists), with a queue
# as deep as the number of clients (one request runs, the others wait: no 429 expected).
# Environment: BUILD (default build), CLIENTS (8), SECONDS (60), MAX_TOKENS (64),
# MODEL (a GGUF file; default: a demo model written by tools/gen_model), THREADS.
# Prints figures; never fails.
BUILD=${BUILD:-build}
CLIENTS=${CLIENTS:-8}
SECONDS_=${SECONDS:-60}
MAX_TOKENS=${MAX_TOKENS:-64}
PY=/usr/bin/python3
for f in "$BUILD/secai-infer" "$BUILD/secai-quarantine" "$BUILD/securectl" "$BUILD/tools/gen_model" "$PY"; do
	if [ ! -x "$f" ]; then
		echo "bench/server: $f is missing (make BUILD=$BUILD first); skipped"
		exit 0
	fi
done
TMP=$(mktemp -d /tmp/secai-bench-server.XXXXXX) || exit 0
PID=
QPID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
if [ -z "$MODEL" ]; then
	MODEL=$TMP/demo.gguf
	"$BUILD/tools/gen_model" --preset demo "$MODEL" >/dev/null || exit 0
fi
SHA=$(sha256sum "$MODEL" | cut -d' ' -f1)
mkdir -p "$TMP/home"
# secai-infer serves only what the signed registry lists: the model goes through the quarantine
SECAI_HOME=$TMP/home "$BUILD/secai-quarantine" >"$TMP/qout" 2>"$TMP/qerr" &
QPID=$!
if ! SECAI_HOME=$TMP/home "$BUILD/securectl" import "$MODEL" --wait 600 >"$TMP/import" 2>&1; then
	echo "bench/server: the quarantine did not promote $MODEL:"; cat "$TMP/import"; exit 0
fi
kill "$QPID"; wait "$QPID" 2>/dev/null; QPID=
SERVED=$TMP/home/registry/models/$SHA/$(basename "$MODEL")
SECAI_HOME=$TMP/home "$BUILD/secai-infer" --model "$SERVED" --sha256 "$SHA" --port 0 \
	--queue "$CLIENTS" ${THREADS:+--threads "$THREADS"} >"$TMP/out" 2>"$TMP/err" &
PID=$!
i=0
while ! grep -q listening "$TMP/out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 $PID 2>/dev/null; then
		echo "bench/server: secai-infer did not start:"; cat "$TMP/err"; exit 0
	fi
	sleep 0.1
done
PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/out" | head -1)
echo "bench/server: $(basename "$MODEL") ($(du -h "$MODEL" | cut -f1)), sealed secai-infer pid $PID port $PORT"
"$PY" "$(dirname "$0")/load.py" --port "$PORT" --pid "$PID" --clients "$CLIENTS" \
	--seconds "$SECONDS_" --max-tokens "$MAX_TOKENS" || echo "bench/server: load client failed"
grep -c "POST /v1/chat/completions 200" "$TMP/err" | sed 's/^/  server log: /; s/$/ requests answered 200/'
