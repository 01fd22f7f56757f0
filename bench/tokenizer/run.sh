#!/bin/sh
# bench/tokenizer/run.sh — tokenizer throughput (MB/s) for the SPM and each BPE vocabulary of the
# reference models in $SECAI_SHARED, beside a memcpy of the same text and `cat` of it.
# Prints figures; never fails the build.
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SECAI_SHARED:-$ROOT/../shared}
BIN=$ROOT/$BUILD/bench/tokenizer/bench_tokenizer
[ -x "$BIN" ] || BIN=$BUILD/bench/tokenizer/bench_tokenizer
if [ ! -x "$BIN" ]; then
	echo "bench_tokenizer not built ($BIN)"
	exit 0
fi
M=$SHARED/llamacpp-ref/models
set --
for f in tiny-llama-spm32k-q4_0.gguf tiny-qwen2-bpe151k-q4_0-pure.gguf \
	tiny-llama3-bpe128k-q4_0-pure.gguf; do
	[ -f "$M/$f" ] && set -- "$@" "$M/$f"
done
[ $# -eq 0 ] && echo "SKIP: reference models (SECAI_SHARED not found: $SHARED); memcpy only"
"$BIN" --mb "${TOK_BENCH_MB:-2}" "$@" || echo "bench_tokenizer failed"
exit 0
