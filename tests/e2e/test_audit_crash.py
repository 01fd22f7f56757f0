"""Crash test: kill -9 secai-audit at a random moment during bursts of concurrent appends,
20 times over one log. Every append the daemon acknowledged must be in the log afterwards,
the log must verify after each restart, and torn last lines are set aside, never accepted."""
import json
import os
import random
import signal
import subprocess
import time

from conftest import binary

ITERATIONS = 20
CLIENTS = 4
PER_CLIENT = 3000  # 12,000 appends per burst


def test_kill9_during_append_bursts(app, tmp_path):
    rng = random.Random(int(os.environ.get("SECAI_CRASH_SEED", "6962")))
    load = binary("tools/audit_load")
    acked, mid_burst = set(), 0
    # calibrate: how long a whole burst takes on this machine and build (ASan is slower)
    d = app.start_audit()
    t0 = time.time()
    subprocess.run([load, app.sock, str(CLIENTS), str(PER_CLIENT), "64", "-", "warmup"],
                   check=True, capture_output=True)
    burst = time.time() - t0
    app.stop(d)
    for it in range(ITERATIONS):
        d = app.start_audit()
        ackfile = tmp_path / f"acked-{it}"
        lp = subprocess.Popen([load, app.sock, str(CLIENTS), str(PER_CLIENT), "64",
                               str(ackfile), f"r{it}"], stdout=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.05, 0.9) * burst)
        d.send_signal(signal.SIGKILL)
        d.wait()
        out, _ = lp.communicate(timeout=60)
        stats = json.loads(out)
        if stats["acked"] < CLIENTS * PER_CLIENT:
            mid_burst += 1
        for line in ackfile.read_text().splitlines():
            tag, c, i = line.split()
            acked.add((tag, int(c), int(i)))
        # the next start recovers: verifies the log and sets a torn tail aside
        rc, v = app.verify()
        assert rc == 0 or (rc == 2 and v["torn_tail"]), v
    d = app.start_audit()
    app.stop(d)
    rc, v = app.verify()
    assert rc == 0, v
    present = set()
    for line in app.lines():
        e = json.loads(line)
        if e["event"] == "load.test":
            present.add((e["data"]["tag"], e["data"]["c"], e["data"]["i"]))
    missing = acked - present
    print(f"crash test: {ITERATIONS} kills, {mid_burst} during a burst, {len(acked)} acknowledged "
          f"appends, {len(present)} load entries in the log, {v['entries']} entries in all")
    assert not missing, f"{len(missing)} acknowledged entries lost, e.g. {sorted(missing)[:5]}"
    assert mid_burst >= ITERATIONS // 2, "the kills did not land during bursts"
