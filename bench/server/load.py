#!/usr/bin/python3
"""bench/server/load.py — holds N concurrent streaming clients against a running secai-infer
for a fixed time and reports requests/s, generated tokens/s, time to first token (p50/p99),
errors, and the server's RSS before and after. The baseline measured in the same run is the
plain loopback round trip (GET /health), so TTFT reads as "x times a bare HTTP exchange".

usage: load.py --port P --pid PID [--clients N] [--seconds S] [--max-tokens T]
Never fails: it prints what it measured, errors included."""
import argparse
import http.client
import json
import statistics
import threading
import time


def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def one_stream(port, max_tokens, prompt):
    """One streaming chat request: (ttft_s, total_s, completion_tokens) or raises."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    body = json.dumps({"messages": [{"role": "user", "content": prompt}], "stream": True,
                       "stream_options": {"include_usage": True}, "max_tokens": max_tokens,
                       "ignore_eos": True, "temperature": 0.8})
    t0 = time.monotonic()
    c.request("POST", "/v1/chat/completions", body=body,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}")
    ttft = None
    tokens = 0
    buf = b""
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            data = ev[len(b"data: "):]
            if data == b"[DONE]":
                continue
            o = json.loads(data)
            if "error" in o:
                raise RuntimeError(o["error"]["message"])
            delta = o["choices"][0]["delta"] if o["choices"] else {}
            if ttft is None and delta.get("content"):
                ttft = time.monotonic() - t0
            if o.get("usage"):
                tokens = o["usage"]["completion_tokens"]
    c.close()
    return (ttft if ttft is not None else time.monotonic() - t0), time.monotonic() - t0, tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--max-tokens", type=int, default=64)
    a = ap.parse_args()

    # baseline: a bare loopback HTTP exchange with the same server
    rtts = []
    for _ in range(200):
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        t = time.monotonic()
        c.request("GET", "/health")
        c.getresponse().read()
        rtts.append(time.monotonic() - t)
        c.close()
    rtt = statistics.median(rtts)

    rss0 = rss_kb(a.pid)
    lock = threading.Lock()
    ttfts, tokens, errors = [], [0], []
    done = [0]
    stop_at = time.monotonic() + a.seconds

    def client(i):
        n = 0
        while time.monotonic() < stop_at:
            try:
                ttft, total, ntok = one_stream(a.port, a.max_tokens,
                                               f"Client {i} request {n}: tell me a story.")
                with lock:
                    ttfts.append(ttft)
                    tokens[0] += ntok
                    done[0] += 1
            except Exception as e:  # noqa: BLE001 — every failure is a counted error
                with lock:
                    errors.append(str(e))
            n += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for t in threads:
        t.start()
    rss_peak = rss0
    while any(t.is_alive() for t in threads):
        rss_peak = max(rss_peak, rss_kb(a.pid))
        time.sleep(0.2)
    wall = time.monotonic() - t0
    rss1 = rss_kb(a.pid)

    q = sorted(ttfts)
    p = (lambda f: q[min(len(q) - 1, int(f * len(q)))] if q else float("nan"))
    print(f"clients {a.clients}, {wall:.1f} s, max_tokens {a.max_tokens} (streaming chat)")
    print(f"  requests      {done[0]} ok, {len(errors)} errors  ({done[0] / wall:.2f} req/s)")
    print(f"  tokens        {tokens[0]} generated  ({tokens[0] / wall:.1f} tokens/s overall)")
    print(f"  TTFT          p50 {p(0.5) * 1000:.1f} ms, p99 {p(0.99) * 1000:.1f} ms "
          f"(baseline: loopback GET /health {rtt * 1000:.2f} ms; p50 = {p(0.5) / rtt:.0f}x)")
    print(f"  server RSS    {rss0 / 1024:.1f} MiB before, {rss_peak / 1024:.1f} MiB peak, "
          f"{rss1 / 1024:.1f} MiB after")
    if errors:
        print("  first errors:", "; ".join(sorted(set(errors))[:3]))


if __name__ == "__main__":
    main()
