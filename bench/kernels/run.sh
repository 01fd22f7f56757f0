#!/bin/sh
# bench/kernels/run.sh — kern_mul_mat GB/s (m = 1) and GFLOP/s (m = 128) per type and ISA next to
# the memory read bandwidth of the same run. Prints figures; never fails the build.
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD/bench/kernels/bench_kernels
[ -x "$BIN" ] || BIN=$BUILD/bench/kernels/bench_kernels
if [ ! -x "$BIN" ]; then
	echo "bench_kernels not built ($BIN)"
	exit 0
fi
"$BIN" || echo "bench_kernels exited with $?"
exit 0
