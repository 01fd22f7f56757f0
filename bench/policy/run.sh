#!/bin/sh
# bench/policy/run.sh — policy decisions per second (in-process and over secai-policy's socket)
# with a 1,000-rule policy, and the round trip of a brokered empty call (secai-call -> broker ->
# an empty service in another compartment's sandbox -> back) beside a plain pipe round trip
# measured in the same run. Prints figures; never fails.
# Env: BUILD (default build), SECONDS_PER (1), CALLS (100 brokered calls).
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B="$ROOT/$BUILD"
PY=/usr/bin/python3
[ -x "$B/bench/policy/bench_policy" ] || { echo "bench/policy: build first (make)"; exit 0; }
echo "== in-process (src/lib/policy)"
"$B/bench/policy/bench_policy" "${SECONDS_PER:-1}"
T=$(mktemp -d /tmp/secai-bench-policy.XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; for p in $PIDS; do wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
export SECAI_HOME="$T" SECAI_LOG_LEVEL=warn
"$B/bench/policy/bench_policy" --write-policy "$T/policy.yaml"
"$B/secai-audit" 2>"$T/audit.log" &
PIDS="$PIDS $!"
i=0; while [ ! -S "$T/run/audit.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
"$B/secai-policy" >"$T/policy.out" 2>"$T/policy.log" &
PIDS="$PIDS $!"
i=0; while [ ! -S "$T/run/policy.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
echo "== over the socket (secai-policy, every decision audited)"
"$PY" - "$T/run/policy.sock" <<'PYEOF'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
req = (json.dumps({"op": "decide", "domain": "egress",
                   "request": {"host": "h999.example.com", "port": 1999, "method": "GET"}})
       + "\n").encode()
n, batch, got = 0, 200, 0
f = s.makefile("rb")
t0 = time.monotonic()
while time.monotonic() - t0 < 2.0:
    s.sendall(req * batch)
    for _ in range(batch):
        line = f.readline()
        assert b'"decision"' in line or b'"verdict"' in line or b'allow' in line, line[:200]
    n += batch
dt = time.monotonic() - t0
print(f"  {n / dt:10.0f} decisions/s, pipelined 200 at a time, last rule of 1000 matching")
PYEOF
if command -v bwrap >/dev/null 2>&1 && [ -x "$B/secai-broker" ]; then
	echo "== brokered empty call (bubblewrap sandbox per call)"
	printf 'compartments:\n  a:\n    tags: [bench]\n  b: {}\n' >"$T/compartments.yaml"
	mkdir -p "$T/compartments/b/rpc"
	printf '#!/bin/sh\nexit 0\n' >"$T/compartments/b/rpc/secai.Null"
	chmod +x "$T/compartments/b/rpc/secai.Null"
	printf 'version: 1\nrpc:\n  - match: {service: secai.Null, source: a, target: b}\n    decision: allow\n' >"$T/policy.yaml"
	"$B/secai-broker" >"$T/broker.out" 2>"$T/broker.log" &
	PIDS="$PIDS $!"
	i=0; while [ ! -S "$T/run/broker/a/call.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
	"$PY" - "$T/run/broker/a/call.sock" "${CALLS:-100}" <<'PYEOF'
import json, os, socket, struct, sys, time
path, calls = sys.argv[1], int(sys.argv[2])
def frame(t, d): return struct.pack("<BI", t, len(d)) + d
req = frame(1, json.dumps({"target": "b", "service": "secai.Null", "arg": ""}).encode())
lat = []
for _ in range(calls):
    t = time.monotonic()
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    s.sendall(req + frame(3, b""))
    buf = b""
    while True:
        c = s.recv(65536)
        if not c: break
        buf += c
        if len(buf) >= 5 and buf[-9:-4][:1] == b"\x06": break
    s.close()
    lat.append(time.monotonic() - t)
    assert b"\x06\x04\x00\x00\x00" in buf, buf[:200]
r, w = os.pipe(); r2, w2 = os.pipe()
pipe = []
for _ in range(2000):
    t = time.monotonic(); os.write(w, b"x"); os.read(r, 1); os.write(w2, b"y"); os.read(r2, 1)
    pipe.append(time.monotonic() - t)
lat.sort(); pipe.sort()
p = lambda a, q: a[min(len(a) - 1, int(q * len(a)))]
print(f"  brokered call p50 {p(lat,.5)*1e3:.2f} ms, p99 {p(lat,.99)*1e3:.2f} ms ({calls} calls)")
print(f"  plain pipe round trip p50 {p(pipe,.5)*1e6:.1f} us, p99 {p(pipe,.99)*1e6:.1f} us"
      f" -> a brokered call costs {p(lat,.5)/p(pipe,.5):.0f}x (a new sandbox per call)")
PYEOF
else
	echo "== brokered call: skipped (bwrap or secai-broker missing)"
fi
exit 0
