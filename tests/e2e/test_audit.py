"""End-to-end tests of the audit log: the real secai-audit daemon on a Unix socket, driven
with securectl, checked with independent tools (Python's hashlib/json, openssl)."""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import free_port, ROOT, binary

SECAI_VERIFY = os.path.join(ROOT, "bench", "audit", "secai_verify.py")


def secai_os_verify(path):
    r = subprocess.run(["/usr/bin/python3", SECAI_VERIFY, path], capture_output=True, text=True)
    return json.loads(r.stdout)


def fill(app, n, event="test.event"):
    for i in range(n):
        app.ctl("audit", "append", event, json.dumps({"i": i, "who": "tester", "x": i / 3}))


# --- RFC 6962, re-stated independently in Python, to check the proofs securectl prints ---
def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def root_from_inclusion(index, size, leaf, proof):
    # RFC 9162 §2.1.3.2
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def test_append_verify_tail_proof(app):
    d = app.start_audit()
    fill(app, 25)
    app.ctl("audit", "checkpoint")
    fill(app, 5)
    rc, v = app.verify()
    assert rc == 0 and v["valid"] and v["entries"] == 30
    assert v["checkpoints"] >= 1 and v["checkpoints_matched"] == v["checkpoints"]
    # tail prints exactly the last N stored lines
    tail = app.ctl("audit", "tail", "-n", "3").stdout.splitlines()
    assert tail == app.lines()[-3:]
    # the log is SecAI OS's format: its own verification algorithm accepts it
    assert secai_os_verify(app.log) == {"valid": True, "entries": 30, "broken_at": None,
                                       "detail": ""}
    # an inclusion proof checks out with an independent RFC 6962 implementation
    pr = json.loads(app.ctl("audit", "proof", "7").stdout)
    entry = json.loads(app.lines()[7])
    leaf = hashlib.sha256(b"\x00" + bytes.fromhex(entry["entry_hash"])).digest()
    assert base64.b64decode(pr["leafHash"]) == leaf
    got = root_from_inclusion(7, pr["treeSize"], leaf, [base64.b64decode(p) for p in pr["proof"]])
    assert got == base64.b64decode(pr["root"])
    # and the root is the one the signed checkpoint commits to
    assert pr["checkpoint"].splitlines()[2] == pr["root"]
    app.stop(d)


def test_checkpoint_verifies_with_openssl(app, tmp_path):
    d = app.start_audit()
    fill(app, 3)
    note = app.ctl("audit", "checkpoint").stdout
    app.stop(d)
    body, _, sigs = note.partition("\n\n")
    body += "\n"
    assert body.count("\n") == 3 and body.splitlines()[1] == "3"
    sig = base64.b64decode(sigs.split(" ")[-1])[4:]
    pub = app.ctl("audit", "pubkey").stdout.split("# note verifier key:")[0]
    (tmp_path / "pub.pem").write_text(pub)
    (tmp_path / "body").write_text(body)
    (tmp_path / "sig").write_bytes(sig)
    cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
           "-rawin", "-in", str(tmp_path / "body"), "-sigfile", str(tmp_path / "sig")]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    (tmp_path / "body").write_text(body.replace("\n3\n", "\n4\n"))
    assert subprocess.run(cmd, capture_output=True).returncode != 0


def tamper_cases():
    def changed_byte(lines):
        lines[4] = lines[4].replace('"who":"tester"', '"who":"Tester"')
        return lines, 4, "entry was changed"

    def removed(lines):
        del lines[4]
        return lines, 4, "removed, inserted or reordered"

    def inserted(lines):
        lines.insert(4, lines[2])
        return lines, 4, "removed, inserted or reordered"

    def reordered(lines):
        lines[4], lines[5] = lines[5], lines[4]
        return lines, 4, "removed, inserted or reordered"

    def first_removed(lines):
        return lines[1:], 0, "start of the log were removed"

    def truncated_below_checkpoint(lines):
        return lines[:7], 7, "truncated"

    def torn_tail(lines):
        return lines[:-1] + [lines[-1][:40] + "\0"], len(lines) - 1, "torn last line"

    def rechained(lines):
        # an attacker rewrites entry 3 and recomputes every hash after it: the chain is
        # consistent again, but the signed checkpoint no longer matches the tree
        out, prev = [], ""
        for i, line in enumerate(lines):
            e = json.loads(line)
            if i == 3:
                e["data"]["who"] = "mallory"
            e["prev_hash"] = prev
            canon = json.dumps({k: e[k] for k in ("data", "event", "prev_hash", "timestamp")},
                               sort_keys=True, separators=(",", ":"))
            e["entry_hash"] = hashlib.sha256(canon.encode()).hexdigest()
            prev = e["entry_hash"]
            out.append(json.dumps(e, sort_keys=True, separators=(",", ":")))
        return out, None, "checkpoint"

    return [changed_byte, removed, inserted, reordered, first_removed,
            truncated_below_checkpoint, torn_tail, rechained]


@pytest.mark.parametrize("case", tamper_cases(), ids=lambda c: c.__name__)
def test_tamper_detected(app, case):
    d = app.start_audit()
    fill(app, 10)
    app.ctl("audit", "checkpoint")
    app.stop(d)
    assert app.verify()[0] == 0
    lines, bad_index, why = case(app.lines())
    with open(app.log, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).replace("\0", "") + ("" if why == "torn last line" else "\n"))
    rc, v = app.verify()
    assert rc == 2 and not v["valid"]
    assert why in v["detail"], v["detail"]
    if bad_index is not None:
        assert v["broken_at"] == bad_index, v
    # the daemon refuses to append to a damaged log (a torn tail is the one thing it repairs)
    if why != "torn last line":
        p = app.start_audit(wait=False)
        assert p.wait(timeout=20) != 0
        assert "does not verify" in open(p.errlog).read()


def test_torn_tail_set_aside_on_restart(app):
    d = app.start_audit()
    fill(app, 5)
    app.stop(d)
    torn = '{"algorithm":"sha256","data":{"half'
    with open(app.log, "a") as f:
        f.write(torn)
    rc, v = app.verify()
    assert rc == 2 and v["torn_tail"] and "torn last line" in v["detail"]
    d = app.start_audit()
    app.stop(d)
    rc, v = app.verify()
    assert rc == 0 and v["entries"] == 6
    last = json.loads(app.lines()[-1])
    assert last["event"] == "audit.torn_tail_set_aside" and last["data"]["bytes"] == len(torn)
    aside = last["data"]["set_aside_to"]
    assert open(aside).read() == torn


def test_spool_when_daemon_down_absorbed_in_order(app):
    d = app.start_audit()
    fill(app, 2)
    app.stop(d)
    for i in range(5):
        r = app.ctl("audit", "append", "spooled.event", json.dumps({"n": i}))
        assert "spooled" in r.stderr
    spool = os.path.join(app.home, "audit", "spool")
    assert len([f for f in os.listdir(spool) if f.endswith(".jsonl")]) == 5
    d = app.start_audit()
    app.stop(d)
    assert os.listdir(spool) == []
    events = [json.loads(x) for x in app.lines()]
    spooled = [e["data"]["n"] for e in events if e["event"] == "spooled.event"]
    assert spooled == [0, 1, 2, 3, 4]
    assert sum(e["event"] == "audit.spool_absorbed" for e in events) == 5
    assert app.verify()[0] == 0


def test_rotation_continues_chain(app):
    app.write_config("audit:\n  rotate_bytes: 4096\n  checkpoint_every: 7\n")
    d = app.start_audit()
    fill(app, 60)
    app.stop(d)
    files = sorted(f for f in os.listdir(os.path.dirname(app.log)) if f.endswith(".jsonl"))
    archives = [f for f in files if f != "audit.jsonl"]
    assert len(archives) >= 3 and archives[0] == "audit.000001.jsonl"
    for a in archives:
        assert oct(os.stat(os.path.join(os.path.dirname(app.log), a)).st_mode)[-3:] == "440"
    rc, v = app.verify()
    assert rc == 0 and v["entries"] == 60 and v["files"] == len(files)
    assert secai_os_verify(app.log)["valid"]
    # removing a middle archive breaks the chain at its successor
    os.chmod(os.path.join(os.path.dirname(app.log), archives[1]), 0o600)
    os.unlink(os.path.join(os.path.dirname(app.log), archives[1]))
    rc, v = app.verify()
    assert rc == 2 and "removed, inserted or reordered" in v["detail"]


def test_secai_os_log_verifies_with_securectl(app, tmp_path):
    log = str(tmp_path / "secai-os-audit.jsonl")
    subprocess.run(["/usr/bin/python3", SECAI_VERIFY, "--write", log, "40"], check=True)
    rc, v = app.verify("--log", log)
    assert rc == 0 and v["entries"] == 40 and "no checkpoints" in v["warning"]
    lines = open(log).read().splitlines()
    lines[10] = lines[10].replace('"i": 10', '"i": 11')
    open(log, "w").write("\n".join(lines) + "\n")
    rc, v = app.verify("--log", log)
    assert rc == 2 and v["broken_at"] == 10


def test_saved_checkpoint_catches_truncation_and_rewrite(app, tmp_path):
    d = app.start_audit()
    fill(app, 12)
    saved = tmp_path / "saved.note"
    saved.write_text(app.ctl("audit", "checkpoint").stdout)
    fill(app, 3)
    app.stop(d)
    assert app.verify("--checkpoint", str(saved))[0] == 0
    # an attacker truncates the log AND its local checkpoints: only the saved one tells
    lines = app.lines()[:10]
    open(app.log, "w").write("\n".join(lines) + "\n")
    os.unlink(app.log.replace(".jsonl", ".checkpoints"))
    assert app.verify()[0] == 0
    rc, v = app.verify("--checkpoint", str(saved))
    assert rc == 2 and "truncated" in v["detail"]


def test_bad_requests_get_errors_and_nothing_is_written(app):
    import socket
    d = app.start_audit()
    s = socket.socket(socket.AF_UNIX)
    s.connect(app.sock)
    f = s.makefile("rwb")
    for req in [b"not json", b'{"op":"append","event":"bad event!"}',
                b'{"op":"append","event":"x","data":[1]}',
                b'{"op":"append","event":"x","data":{},"timestamp":"forged"}',
                b'{"op":"append","event":"x","data":{"a":1,"a":2}}', b'{"op":"nope"}']:
        f.write(req + b"\n")
        f.flush()
        rep = json.loads(f.readline())
        assert rep["ok"] is False and rep["error"], req
    f.write(b'{"op":"append","event":"good","data":{"k":"v"}}\n')
    f.flush()
    assert json.loads(f.readline())["index"] == 0
    s.close()
    app.stop(d)
    assert len(app.lines()) == 1


def test_cli_usage_and_errors(app):
    r = app.ctl("audit", "--help")
    assert "verify" in r.stdout and r.returncode == 0
    for args in (["audit"], ["audit", "bogus"], ["audit", "append"],
                 ["audit", "append", "bad name", "{}"], ["audit", "append", "ok", "[1]"],
                 ["audit", "proof", "x"]):
        r = app.ctl(*args, check=False)
        assert r.returncode == 64, (args, r.returncode, r.stderr)
        assert r.stderr
    for cmd in (["up"], ["status"], ["audit", "verify"], ["audit", "tail"], ["audit", "proof"],
                ["audit", "append"], ["audit", "pubkey"], ["audit", "checkpoint"]):
        r = app.ctl(*cmd, "--help", check=False)
        assert r.returncode == 0 and "usage:" in r.stdout, cmd
    r = subprocess.run([binary("secai-audit"), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage:" in r.stdout


def test_config_errors_name_file_and_line(app):
    path = app.write_config("log_level: info\naudit:\n  checkpoint_every: 0\n")
    r = app.ctl("status", check=False)
    assert r.returncode != 0 and f"{path}:3" in r.stderr and "checkpoint_every" in r.stderr
    app.write_config("audit:\n  no_such_key: 1\n")
    r = app.ctl("status", check=False)
    assert r.returncode != 0 and ":2" in r.stderr and "no_such_key" in r.stderr
    p = app.start_audit(wait=False)
    assert p.wait(timeout=20) != 0 and "no_such_key" in open(p.errlog).read()


def test_up_status_and_restart(app):
    app.write_config(f"infer:\n  port: {free_port()}\nregistry:\n  port: {free_port()}\n")
    up = subprocess.Popen([binary("securectl"), "up"], env=app.env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    app.procs.append(up)
    deadline = time.time() + 30
    while time.time() < deadline:
        r = app.ctl("status", "--json", check=False)
        if r.returncode == 0:
            break
        time.sleep(0.1)
    st = json.loads(r.stdout)
    assert st["healthy"] and st["daemons"][0]["name"] == "audit"
    pid = st["daemons"][0]["pid"]
    os.kill(pid, 9)  # the supervisor restarts a crashed daemon (back-off 1 s)
    deadline = time.time() + 30
    newpid = None
    while time.time() < deadline:
        r = app.ctl("status", "--json", check=False)
        if r.returncode == 0:
            newpid = json.loads(r.stdout)["daemons"][0]["pid"]
            if newpid != pid:
                break
        time.sleep(0.2)
    assert newpid and newpid != pid
    up.send_signal(2)  # Ctrl-C stops everything
    out, _ = up.communicate(timeout=30)
    assert up.returncode == 0, out
    assert "restarting" in out
    assert app.ctl("status", check=False).returncode == 1
    rc, v = app.verify()
    assert rc == 0 and any(json.loads(x)["event"] == "appliance.up" for x in app.lines())


def test_up_check(app):
    app.write_config(f"infer:\n  port: {free_port()}\nregistry:\n  port: {free_port()}\n")
    r = app.ctl("up", "--check")
    assert re.search(r"check: audit entry \d+ appended", r.stdout) and "intact" in r.stdout
