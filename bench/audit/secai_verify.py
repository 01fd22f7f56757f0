#!/usr/bin/env python3
"""secai_verify.py — SecAI OS's audit-chain verification algorithm, re-stated in Python.

Used two ways: by tests/e2e to show that logs secai writes verify with SecAI OS's algorithm
(and that SecAI-style logs verify with `securectl audit verify`), and by bench/audit as the
speed baseline ("Python verifier"). It follows the published behaviour of SecAI OS's
HMAC/SHA-256 chain (docs: ../shared/reference/seed-systems.md §1.5): archives STEM.*.jsonl in
sorted order, then the live file; each entry_hash = SHA-256 over
json.dumps({data, event, prev_hash, timestamp}, sort_keys=True, separators=(',', ':'));
prev_hash links to the previous entry_hash, "" for the first.

usage: secai_verify.py LOG.jsonl        prints {"valid", "entries", "broken_at", "detail"}
       secai_verify.py --write LOG N    writes N entries the way SecAI OS's Python logger does
"""
import glob
import hashlib
import json
import os
import sys
from datetime import datetime, timezone


def entry_hash(entry):
    payload = {k: entry[k] for k in ("data", "event", "prev_hash", "timestamp")}
    canon = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def files_of(path):
    stem = path[:-6] if path.endswith(".jsonl") else path
    archives = sorted(f for f in glob.glob(glob.escape(stem) + ".*.jsonl")
                      if all(c.isdigit() or c == "-" for c in f[len(stem) + 1:-6]))
    return archives + ([path] if os.path.exists(path) else [])


def verify(path):
    prev, n = "", 0
    for f in files_of(path):
        with open(f, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                try:
                    e = json.loads(line)
                except ValueError:
                    return {"valid": False, "entries": n, "broken_at": lineno,
                            "detail": f"line {lineno}: invalid JSON"}
                if e.get("prev_hash") != prev:
                    return {"valid": False, "entries": n, "broken_at": lineno,
                            "detail": f"line {lineno}: chain break"}
                if entry_hash(e) != e.get("entry_hash"):
                    return {"valid": False, "entries": n, "broken_at": lineno,
                            "detail": f"line {lineno}: hash mismatch"}
                prev, n = e["entry_hash"], n + 1
    return {"valid": True, "entries": n, "broken_at": None, "detail": ""}


def write(path, n):
    prev = ""
    with open(path, "a", encoding="utf-8") as fh:
        for i in range(n):
            e = {"timestamp": datetime.now(timezone.utc).isoformat(), "event": "secai_os.test",
                 "data": {"i": i, "text": "naïve – ✓ \U0001F600", "f": i / 7, "ok": True,
                          "nested": {"z": None, "a": [1, 2.5, "x"]}},
                 "prev_hash": prev}
            e["entry_hash"] = entry_hash(e)
            e["algorithm"] = "sha256"
            fh.write(json.dumps(e) + "\n")  # SecAI OS writes with default separators
            prev = e["entry_hash"]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--write":
        write(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    r = verify(sys.argv[1])
    print(json.dumps(r))
    sys.exit(0 if r["valid"] else 1)
