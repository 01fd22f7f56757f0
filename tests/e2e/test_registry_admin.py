"""The registry's admin deletion end to end (issue 6/7): the real secai-audit, secai-quarantine
and secai-registry in a temporary SECAI_HOME. DELETE /v1/models/<sha256> without the admin
token is refused and changes nothing; with it (directly and through `securectl models delete`)
the model leaves the signed manifest (which still verifies, checked here with Python's own
Ed25519) and its read-only files are removed; the audit log records who; a deleted model is not
brought back by the quarantine's recovery; a SIGKILL at each step of a deletion and at random
times leaves the old or the new registry, never a half state."""
import base64
import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conftest import Infer, binary


def st_bytes(seed, n=16):
    """A small valid safetensors file (the quarantine promotes it with the behavioural test
    waived: fast enough to promote dozens)."""
    rnd = random.Random(seed)
    data = struct.pack(f"<{n * n}f", *[rnd.gauss(0, 1) / 4 for _ in range(n * n)])
    hdr = json.dumps({"weight": {"dtype": "F32", "shape": [n, n],
                                 "data_offsets": [0, len(data)]}}).encode()
    return struct.pack("<Q", len(hdr)) + hdr + data


def sha_file(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Reg:
    """A state dir with secai-audit, and secai-quarantine / secai-registry on demand."""

    def __init__(self, app):
        self.app = app
        self.home = app.home
        self.regdir = os.path.join(self.home, "registry")
        self.mpath = os.path.join(self.regdir, "manifest.json")
        self.inc = os.path.join(self.home, "quarantine", "incoming")
        os.makedirs(self.inc, exist_ok=True)
        with open(os.path.join(self.home, "quarantine", "policy.yaml"), "w") as f:
            f.write("waive: [behavioral_test]\n")
        self.rproc = None
        self.port = None

    def quarantine(self):
        log = open(os.path.join(self.home, f"quarantine-{time.time_ns()}.log"), "w")
        p = subprocess.Popen([binary("secai-quarantine")], env=self.app.env,
                             stdout=subprocess.PIPE, stderr=log, text=True)
        self.app.procs.append(p)
        assert "watching" in p.stdout.readline()
        return p

    def promote_many(self, n, seed0=0):
        """n models through the real quarantine; returns {sha: name}."""
        q = self.quarantine()
        want = {}
        for i in range(n):
            data = st_bytes(seed0 + i)
            name = f"m{seed0 + i}.safetensors"
            tmp = os.path.join(self.inc, f".{name}.part")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(self.inc, name))
            want[hashlib.sha256(data).hexdigest()] = name
        deadline = time.time() + 120
        while time.time() < deadline and set(self.listed()) != set(want):
            time.sleep(0.05)
        assert set(self.listed()) == set(want), self.listed()
        self.app.stop(q)
        return want

    def start_registry(self, env_extra=None, port=0):
        env = dict(self.app.env, **(env_extra or {}))
        self.rlog = os.path.join(self.home, f"registry-{time.time_ns()}.log")
        self.rproc = subprocess.Popen([binary("secai-registry"), "--port", str(port)], env=env,
                                      stdout=subprocess.PIPE, stderr=open(self.rlog, "w"),
                                      text=True)
        self.app.procs.append(self.rproc)
        line = self.rproc.stdout.readline()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert m, f"{line!r}\n{open(self.rlog).read()}"
        self.port = int(m.group(1))
        return self.rproc

    def request(self, method, path, token=None, auth=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if auth is not None:
            h["Authorization"] = auth
        c.request(method, path, headers=h)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, json.loads(body) if body else None, r

    def token(self):
        with open(os.path.join(self.regdir, "admin.token")) as f:
            return f.read().strip()

    def verified_doc(self):
        """The manifest, after checking its Ed25519 signature with registry.pub independently
        of secai's C code (canonical JSON = sorted keys, compact separators)."""
        with open(self.mpath) as f:
            doc = json.load(f)
        with open(os.path.join(self.regdir, "registry.pub")) as f:
            pub = f.read().strip()
        assert doc["key_id"] == pub
        body = {k: v for k, v in doc.items() if k != "signature"}
        canon = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)).verify(
            base64.b64decode(doc["signature"]), canon)  # raises InvalidSignature
        return doc

    def listed(self):
        if not os.path.exists(self.mpath):
            return []
        return [m["sha256"] for m in self.verified_doc()["models"]]

    def consistent(self):
        """The manifest verifies and every listed model's file exists with its hash."""
        doc = self.verified_doc()
        for m in doc["models"]:
            assert sha_file(m["path"]) == m["sha256"], m
        return [m["sha256"] for m in doc["models"]]

    def folders(self):
        d = os.path.join(self.regdir, "models")
        return sorted(x for x in os.listdir(d) if re.fullmatch(r"[0-9a-f]{64}", x))

    def tombstones(self):
        d = os.path.join(self.regdir, "deleting")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def events(self, name):
        if not os.path.exists(self.app.log):
            return []
        return [e for e in map(json.loads, self.app.lines()) if e["event"] == name]


@pytest.fixture
def reg(app):
    app.start_audit()
    return Reg(app)


def test_delete_needs_the_admin_token(reg, tmp_path):
    models = reg.promote_many(3)
    reg.start_registry()
    shas = sorted(models)
    victim, keep = shas[0], shas[1:]
    token_path = os.path.join(reg.regdir, "admin.token")
    st = os.stat(token_path)
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == os.geteuid()
    assert re.fullmatch(r"[0-9a-f]{64}", reg.token())
    before = open(reg.mpath, "rb").read()
    # without the token, with a malformed one, with a wrong one: refused, nothing changes
    status, body, r = reg.request("DELETE", f"/v1/models/{victim}")
    assert status == 401 and body["error"]["type"] == "authentication_error", body
    assert r.getheader("WWW-Authenticate", "").startswith("Bearer")
    status, body, _ = reg.request("DELETE", f"/v1/models/{victim}", auth="Basic YWRtaW46YWRtaW4=")
    assert status == 403 and body["error"]["type"] == "permission_error"
    wrong = "%064x" % (int(reg.token(), 16) ^ 1)
    status, body, _ = reg.request("DELETE", f"/v1/models/{victim}", token=wrong)
    assert status == 403
    # a non-admin cannot even learn whether a model exists
    assert reg.request("DELETE", "/v1/models/" + "0" * 64)[0] == 401
    assert open(reg.mpath, "rb").read() == before
    assert sorted(reg.consistent()) == shas and reg.folders() == shas
    refused = reg.events("registry.delete_refused")
    assert [e["data"]["reason"] for e in refused] == ["no_token", "malformed_token",
                                                       "wrong_token", "no_token"]
    assert refused[0]["data"]["target"] == victim
    assert refused[0]["data"]["who"]["uid"] == os.geteuid()  # the kernel's word, not ours
    assert re.fullmatch(r"127\.0\.0\.1:\d+", refused[0]["data"]["who"]["peer"])
    # the admin: unknown model 404, other methods 405, then the real deletion
    status, body, _ = reg.request("DELETE", "/v1/models/" + "0" * 64, token=reg.token())
    assert status == 404 and body["error"]["type"] == "not_found"
    assert reg.request("DELETE", "/v1/models", token=reg.token())[0] == 405
    assert reg.request("PUT", f"/v1/models/{victim}", token=reg.token())[0] == 405
    assert open(reg.mpath, "rb").read() == before
    status, body, _ = reg.request("DELETE", f"/v1/models/{victim}", token=reg.token())
    assert status == 200, body
    assert body == {"id": victim, "object": "model", "deleted": True, "name": models[victim],
                    "sha256": victim}
    # gone from the list, the manifest re-signed and still verifying, the files gone
    assert sorted(reg.consistent()) == keep
    status, body, _ = reg.request("GET", "/v1/models")
    assert sorted(m["sha256"] for m in body["data"]) == keep
    assert reg.request("GET", f"/v1/models/{victim}")[0] == 404
    assert reg.folders() == keep and reg.tombstones() == []
    ev = reg.events("registry.deleted")
    assert len(ev) == 1
    d = ev[0]["data"]
    assert d["sha256"] == victim and d["name"] == models[victim] and d["auth"] == "admin_token"
    assert d["who"]["uid"] == os.geteuid() and d["path"].endswith(models[victim])
    assert reg.request("DELETE", f"/v1/models/{victim}", token=reg.token())[0] == 404
    # the quarantine's recovery does not bring it back
    q = reg.quarantine()
    time.sleep(1.0)
    reg.app.stop(q)
    assert reg.folders() == keep and sorted(reg.consistent()) == keep
    assert os.listdir(os.path.join(reg.home, "quarantine", "processing")) == []
    rc, _ = reg.app.verify()
    assert rc == 0


def ctl(reg, *args):
    env = dict(reg.app.env)
    with open(os.path.join(reg.home, "appliance.yaml"), "w") as f:
        f.write(f"registry:\n  port: {reg.port}\n")
    return subprocess.run([binary("securectl"), "models", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_securectl_models_delete(reg):
    models = reg.promote_many(3, seed0=50)
    by_name = {v: k for k, v in models.items()}
    reg.start_registry()
    r = ctl(reg, "delete", "--help")
    assert r.returncode == 0 and "admin token" in r.stdout and "usage:" in r.stdout
    assert ctl(reg, "delete").returncode == 64
    assert ctl(reg, "delete", "a", "b").returncode == 64
    assert ctl(reg, "frobnicate").returncode == 64
    r = ctl(reg, "delete", "no-such-model")
    assert r.returncode == 1 and "no listed model" in r.stderr
    # by name
    r = ctl(reg, "delete", "m50.safetensors")
    assert r.returncode == 0, r.stderr
    assert f"deleted m50.safetensors (sha256 {by_name['m50.safetensors']})" in r.stdout
    listed = json.loads(ctl(reg, "--json").stdout)
    assert sorted(m["name"] for m in listed) == ["m51.safetensors", "m52.safetensors"]
    # by a hash prefix, with --json
    sha = by_name["m51.safetensors"]
    r = ctl(reg, "delete", sha[:12], "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["deleted"] is True
    assert reg.consistent() == [by_name["m52.safetensors"]]
    assert reg.folders() == [by_name["m52.safetensors"]]
    assert [e["data"]["name"] for e in reg.events("registry.deleted")] == [
        "m50.safetensors", "m51.safetensors"]
    # a token file others can read is refused by securectl (and by the registry at start)
    tok = os.path.join(reg.regdir, "admin.token")
    os.chmod(tok, 0o644)
    r = ctl(reg, "delete", "m52.safetensors")
    assert r.returncode == 1 and "chmod 600" in r.stderr
    reg.app.stop(reg.rproc)
    p = subprocess.run([binary("secai-registry"), "--port", "0"], env=reg.app.env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "chmod 600" in p.stderr
    os.chmod(tok, 0o600)
    # a token that is not the running registry's: the registry's refusal, in words
    reg.start_registry()
    with open(tok, "w") as f:
        f.write("ab" * 32 + "\n")
    r = ctl(reg, "delete", "m52.safetensors")
    assert r.returncode == 1 and "answered 403" in r.stderr
    assert reg.consistent() == [by_name["m52.safetensors"]]
    # the registry down: says so
    reg.app.stop(reg.rproc)
    r = ctl(reg, "delete", "m52.safetensors")
    assert r.returncode == 1 and "does not answer" in r.stderr


def test_infer_refuses_a_deleted_model(reg, tmp_path):
    """A model deleted from the registry is refused by secai-infer even when its file survives
    somewhere (a copy put back into the store)."""
    gguf = str(tmp_path / "d.gguf")
    subprocess.run([binary("tools/gen_model"), "--preset", "demo", "--seed", "21", gguf],
                   check=True, capture_output=True)
    q = reg.quarantine()
    r = subprocess.run([binary("securectl"), "import", gguf, "--wait", "300"],
                       env=reg.app.env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    reg.app.stop(q)
    sha = sha_file(gguf)
    path = os.path.join(reg.regdir, "models", sha, "d.gguf")
    s = Infer(reg.home, path)
    s.kill()
    reg.start_registry()
    assert reg.request("DELETE", f"/v1/models/{sha}", token=reg.token())[0] == 200
    s = Infer(reg.home, path, sha=sha, wait=False)
    assert s.p.wait(timeout=120) == 1
    assert "model_missing" in s.log()
    os.makedirs(os.path.dirname(path))  # the same bytes put back where they were
    with open(gguf, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    s = Infer(reg.home, path, sha=sha, wait=False)
    assert s.p.wait(timeout=120) == 1
    assert "not_listed" in s.log() and "does not list it" in s.log()


@pytest.mark.parametrize("step", ["delete.tombstone", "delete.manifest", "delete.files"])
def test_crash_at_each_delete_step(reg, step):
    models = reg.promote_many(2, seed0=100)
    victim, other = sorted(models)
    reg.start_registry()
    token = reg.token()
    reg.app.stop(reg.rproc)
    reg.start_registry({"SECAI_REG_CRASH_AT": step})
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        reg.request("DELETE", f"/v1/models/{victim}", token=token)
    reg.rproc.wait(timeout=30)
    assert reg.rproc.returncode == -signal.SIGKILL
    committed = step != "delete.tombstone"
    listed = reg.consistent()  # old or new, and every listed file whole
    assert sorted(listed) == ([other] if committed else sorted([victim, other]))
    assert reg.tombstones() == [f"{victim}.json"]  # the crash left it: the sweep's cue
    # the quarantine starting first must not vet the leftover again: it sweeps too
    q = reg.quarantine()
    time.sleep(1.0)
    reg.app.stop(q)
    assert os.listdir(os.path.join(reg.home, "quarantine", "processing")) == []
    reg.start_registry()
    assert reg.tombstones() == []
    assert reg.folders() == sorted(reg.consistent())
    assert sorted(reg.consistent()) == ([other] if committed else sorted([victim, other]))
    status, body, _ = reg.request("GET", "/v1/models")
    assert status == 200 and len(body["data"]) == len(reg.consistent())


def test_random_kills_during_deletes(reg):
    """kill -9 at random points of deletions (at least 20 kills): after each, the manifest
    verifies and every listed model's file exists with its hash; after restarts, the store
    holds exactly what is listed and the quarantine does not bring anything back."""
    kills = max(20, int(os.environ.get("SECAI_REG_KILLS", "24")))
    models = reg.promote_many(kills + 2, seed0=200)
    rnd = random.Random(11)
    reg.start_registry()
    token = reg.token()
    # how long one deletion takes here (ASan, this disk): the kill window covers it
    first = sorted(models)[0]
    t0 = time.time()
    assert reg.request("DELETE", f"/v1/models/{first}", token=token)[0] == 200
    window = max(0.002, 1.5 * (time.time() - t0))
    reg.app.stop(reg.rproc)
    outcomes = {"kept": 0, "deleted": 0, "interrupted": 0}
    for i in range(kills):
        reg.start_registry()
        victim = rnd.choice(reg.listed())
        s = socket.create_connection(("127.0.0.1", reg.port))
        s.sendall(f"DELETE /v1/models/{victim} HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n".encode())
        time.sleep(rnd.uniform(0, window))
        reg.rproc.kill()
        reg.rproc.wait()
        s.close()
        listed = reg.consistent()  # raises if the signature or a listed file is wrong
        outcomes["kept" if victim in listed else "deleted"] += 1
        if reg.tombstones():
            outcomes["interrupted"] += 1  # killed between tombstone and its removal
    print(f"random kills: {outcomes} (kill window {window * 1000:.1f} ms)")
    # both outcomes happened: the kills landed on both sides of the commit
    assert outcomes["kept"] > 0 and outcomes["deleted"] > 0, outcomes
    q = reg.quarantine()
    time.sleep(1.0)
    reg.app.stop(q)
    reg.start_registry()
    listed = sorted(reg.consistent())
    assert reg.folders() == listed and reg.tombstones() == []
    assert os.listdir(os.path.join(reg.home, "quarantine", "processing")) == []
    status, body, _ = reg.request("GET", "/health")
    assert status == 200 and body["models"] == len(listed)


def test_verify_one_and_all(reg, tmp_path):
    """POST /v1/models/verify re-hashes every listed model (files and folders, the way the
    quarantine named them); /v1/models/<sha>/verify one; `securectl models verify` exits 1 and
    names the model whose bytes changed; each run is a registry.verified audit event."""
    models = reg.promote_many(2, seed0=70)
    # and a folder model, through the same quarantine
    q = reg.quarantine()
    d = tmp_path / ".fold.part"
    d.mkdir()
    (d / "model.safetensors").write_bytes(st_bytes(99))
    (d / "config.json").write_text('{"model_type": "test"}')
    os.rename(d, os.path.join(reg.inc, "fold"))
    deadline = time.time() + 120
    while time.time() < deadline and len(reg.listed()) < 3:
        time.sleep(0.05)
    reg.app.stop(q)
    assert len(reg.listed()) == 3
    fold = [s for s in reg.listed() if s not in models][0]
    reg.start_registry()
    status, body, _ = reg.request("POST", "/v1/models/verify")
    assert status == 200 and body["ok"] is True and body["checked"] == 3 and body["failed"] == 0
    assert sorted(m["sha256"] for m in body["data"]) == sorted(reg.listed())
    assert all(m["ok"] and m["actual"] == m["sha256"] for m in body["data"])
    assert reg.request("GET", "/v1/models/verify")[0] == 405
    r = ctl(reg, "verify")
    assert r.returncode == 0 and "3 models re-hashed: all match" in r.stdout, r.stdout + r.stderr
    # change one byte of a promoted file (its owner can, after chmod): found, by name
    victim = sorted(models)[0]
    path = os.path.join(reg.regdir, "models", victim, models[victim])
    os.chmod(os.path.dirname(path), 0o755)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        b = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([b[0] ^ 1]))
    # and add a file to the folder model: the folder's hash changes too
    fpath = os.path.join(reg.regdir, "models", fold, "fold")
    os.chmod(os.path.dirname(fpath), 0o755)
    os.chmod(fpath, 0o755)
    with open(os.path.join(fpath, "extra.py"), "w") as f:
        f.write("import os\n")
    status, body, _ = reg.request("POST", "/v1/models/verify")
    assert status == 200 and body["ok"] is False and body["failed"] == 2, body
    bad = {m["sha256"]: m for m in body["data"] if not m["ok"]}
    assert sorted(bad) == sorted([victim, fold])
    assert bad[victim]["actual"] == sha_file(path)
    status, body, _ = reg.request("POST", f"/v1/models/{victim}/verify")
    assert status == 200 and body["ok"] is False and body["name"] == models[victim]
    r = ctl(reg, "verify")
    assert r.returncode == 1 and "CHANGED" in r.stdout and models[victim] in r.stdout
    assert "2 of 3 models no longer match" in r.stdout, r.stdout
    good = sorted(models)[1]
    r = ctl(reg, "verify", models[good])
    assert r.returncode == 0 and r.stdout.startswith("ok "), r.stdout + r.stderr
    r = ctl(reg, "verify", victim[:12], "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["ok"] is False
    # a symlink in place of the file is not followed
    os.unlink(path)
    os.symlink("/etc/hostname", path)
    status, body, _ = reg.request("POST", f"/v1/models/{victim}/verify")
    assert status == 200 and body["ok"] is False
    ev = reg.events("registry.verified")
    assert [(e["data"]["scope"], e["data"]["failed"]) for e in ev] == [
        ("all", 0), ("all", 0), ("all", 2), ("one", 1), ("all", 2), ("one", 0), ("one", 1),
        ("one", 1)]
    assert sorted(ev[2]["data"]["failed_sha256"]) == sorted([victim, fold])
    assert ev[0]["data"]["who"]["uid"] == os.geteuid()
