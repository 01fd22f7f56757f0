#!/bin/sh
# bench/infer/run.sh — the engine's speed on bench-llama-0.8b-shaped models (the workload of
# ../shared/llamacpp-ref/BASELINE.md) beside this machine's memory read bandwidth.
#
# Writes F16, Q8_0, Q4_0 and Q4_K (Q4_K_M recipe) models with tools/gen_model into a temp dir
# (deleted at the end, one model on disk at a time), then with `securectl run --json` measures
# pp128 (a 128-token prompt, one batch) and tg64 (64 single-token steps) at 1 and 2 threads,
# and prints tg as a fraction of its ceiling (read bandwidth / weight bytes read per token,
# i.e. all tensors but token_embd; the bandwidth is measured right before and after each tg
# rep, the better of the two, since it drifts on shared machines; reps whose two readings
# disagree are used only when no rep was steady, marked '?') and the peak RSS. Prints
# figures; never fails.
# Environment: BUILD (default build), TYPES (default "F16 Q8_0 Q4_0 Q4_K"), THREADS ("1 2"),
# REPS (runs per figure, the best is kept; default 2), BENCH_TMP (default /tmp).
BUILD=${BUILD:-build}
TYPES=${TYPES:-"F16 Q8_0 Q4_0 Q4_K"}
THREADS=${THREADS:-"1 2"}
REPS=${REPS:-2}
GEN=$BUILD/tools/gen_model
CTL=$BUILD/securectl
BW=$BUILD/bench/infer/bandwidth
PY=/usr/bin/python3

for f in "$GEN" "$CTL" "$BW" "$PY"; do
	if [ ! -x "$f" ]; then
		echo "bench/infer: $f is missing (make BUILD=$BUILD first); skipped"
		exit 0
	fi
done
TMP=$(mktemp -d "${BENCH_TMP:-/tmp}/secai-bench-infer.XXXXXX") || exit 0
trap 'rm -rf "$TMP"' EXIT
trap 'rm -rf "$TMP"; exit 1' INT TERM

# json FIELD.PATH < file: one value out of securectl's JSON
json() {
	"$PY" -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"
}

# one timing field of one `securectl run --json ARGS` (0 if it failed); peak RSS to $TMP/rss.txt
run_once() {
	field=$1
	shift
	if "$CTL" run "$@" >"$TMP/out.json" 2>"$TMP/err.txt"; then
		json "timings.$field" <"$TMP/out.json"
		json timings.peak_rss_kb <"$TMP/out.json" >>"$TMP/rss.txt"
	else
		echo "  securectl run failed: $(head -c 300 "$TMP/err.txt")" >&2
		echo 0
	fi
}

# best of REPS for a timing field of `securectl run --json ARGS`
best() {
	b=0
	i=0
	while [ "$i" -lt "$REPS" ]; do
		v=$(run_once "$@")
		b=$(echo "$v $b" | awk '{ m = $2; if ($1 > $2) m = $1; print m }')
		i=$((i + 1))
	done
	printf '%.2f' "$b"
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
	"$(nproc) cores; flags: $(grep -o -m3 'avx512_vnni\|amx_int8\|avx512f' /proc/cpuinfo |
		sort -u | tr '\n' ' ')"

# read_gbs THREADS: the machine's read bandwidth now (1 GiB array, best of 5 passes), 0 if none
read_gbs() {
	v=$("$BW" "$1" 1024 | sed -n 's/.*read_gbs=\([0-9.]*\).*/\1/p')
	echo "${v:-0}"
}

# "a a ... a" (127 words) -> <s> + 127 tokens of the synthetic vocabulary = 128 prompt tokens
PROMPT=$(awk 'BEGIN { printf "a"; for (i = 1; i < 127; i++) printf " a"; }')
DETAIL=

printf '\n%-6s %8s %9s %8s %9s %9s %9s %12s %16s %10s\n' quant "file MB" "wt MB/tok" \
	"pp t=1" "pp t=2" "tg t=1" "tg t=2" "ceil t=1/2" "tg % ceil t=1/2" "peak RSS"
for q in $TYPES; do
	M=$TMP/bench-$q.gguf
	if ! stats=$("$GEN" --preset bench-llama-0.8b --type "$q" --stats "$M"); then
		echo "$q: gen_model failed"
		continue
	fi
	# Start from the file on disk, as a model that was not just written is: the page cache the
	# write left (4 KiB pages) is dropped, so the engine's map fills it in 2 MiB pages where the
	# kernel allows (docs/infer.md, Loading).
	sync "$M" 2>/dev/null || sync
	dd if="$M" iflag=nocache count=0 status=none 2>/dev/null || true
	fb=$(echo "$stats" | sed -n 's/.*file_bytes=\([0-9]*\).*/\1/p')
	wb=$(echo "$stats" | sed -n 's/.*weight_bytes_per_token=\([0-9]*\).*/\1/p')
	n=$("$CTL" run "$M" --json --greedy --max-tokens 1 "$PROMPT" 2>/dev/null |
		json timings.prompt_n 2>/dev/null)
	[ "$n" = 128 ] || echo "  note: the pp prompt is $n tokens, not 128"
	: >"$TMP/rss.txt"
	PP1=- PP2=- TG1=- TG2=- C1=- C2=- F1=- F2=-
	for t in $THREADS; do
		pp=$(best prompt_per_second "$M" --json --greedy --threads "$t" --ctx 512 \
			--max-tokens 1 "$PROMPT")
		# This VM's bandwidth drifts and bursts (2 threads: ~34 GB/s, at times ~60, even
		# within one run), so every tg rep is bracketed by two bandwidth readings and its
		# ceiling is the better of them. A rep counts as steady when the two agree within
		# 15% and its fraction is at most 100% (above that, a burst came between the
		# readings); the best steady rep is reported, else the best rep marked '?'.
		tg=0 ceil=0 frac=-1 sfrac=-1 stg=0 sceil=0 i=0
		DETAIL="$DETAIL
  $q t=$t:"
		while [ "$i" -lt "$REPS" ]; do
			bw1=$(read_gbs "$t")
			v=$(run_once predicted_per_second "$M" --json --greedy --threads "$t" \
				--ctx 512 --max-tokens 65 --ignore-eos "a")
			bw2=$(read_gbs "$t")
			eval "all=\$BWS_$t"
			eval "BWS_$t=\"\$all \$bw1 \$bw2\""
			set -- $(echo "$v $bw1 $bw2 $wb" | awk '{
				bw = $2 > $3 ? $2 : $3; lo = $2 < $3 ? $2 : $3
				c = ($4 > 0) ? bw * 1e9 / $4 : 0; f = (c > 0) ? 100 * $1 / c : 0
				st = (lo > 0 && bw / lo <= 1.15 && f <= 100) ? 1 : 0
				printf "%.2f %.1f %.1f %d", $1, c, f, st }')
			st=; [ "$4" = 1 ] || st=?
			DETAIL="$DETAIL $1 ($3%$st)"
			if [ "$4" = 1 ] && awk "BEGIN { exit !($3 > $sfrac) }"; then
				sfrac=$3 stg=$1 sceil=$2
			fi
			if awk "BEGIN { exit !($3 > $frac) }"; then
				frac=$3 tg=$1 ceil=$2
			fi
			i=$((i + 1))
		done
		if awk "BEGIN { exit !($sfrac >= 0) }"; then
			tg=$stg ceil=$sceil frac=$(printf '%.0f%%' "$sfrac")
		else
			frac=$(printf '%.0f%%?' "$frac")
		fi
		eval "PP$t=\$pp TG$t=\$tg C$t=\$ceil F$t=\$frac"
	done
	printf '%-6s %8.0f %9.0f %8s %9s %9s %9s %12s %16s %8.0fMB\n' "$q" \
		"$(echo "$fb" | awk '{print $1/1e6}')" "$(echo "$wb" | awk '{print $1/1e6}')" \
		"$PP1" "$PP2" "$TG1" "$TG2" "$C1/$C2" "$F1/$F2" \
		"$(awk '{ if ($1 > m) m = $1 } END { print m / 1e3 }' "$TMP/rss.txt")"
	rm -f "$M"
done
for t in $THREADS; do
	eval "all=\$BWS_$t"
	echo "memory read bandwidth, $t thread(s), measured beside each tg (1 GiB array, best of 5):$all GB/s"
done
echo "every tg rep, tokens/s (% of its ceiling; ? = its two readings disagreed):$DETAIL"
echo "(pp = prompt tokens/s over 128 tokens, tg = generation tokens/s over 64 steps; ceiling ="
echo " read bandwidth measured right before and after that tg rep (the better) / weight bytes per"
echo " token; the best rep whose readings agree within 15% and stay <= 100%, else the best rep"
echo " marked '?'; llama.cpp's figures: ../shared/llamacpp-ref/BASELINE.md)"
exit 0
