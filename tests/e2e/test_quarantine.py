"""End-to-end tests of secai-quarantine and secai-registry (issue 6/7): the real daemons in a
temporary SECAI_HOME, models dropped into quarantine/incoming/ the way writers must (temporary
name, then rename), each stage's pass and fail path with its reason id, reports, audit events,
registry answers, and crash safety of promotion (kill -9 at fixed steps and at random times)."""
import glob
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import time

import pytest

from conftest import BUILD, SHARED, binary

# securectl with the import/quarantine subcommands (until main.c's table has them, a scratch
# link may be named here); the daemons are tested either way.
SECURECTL_QR = os.environ.get("SECAI_QR_SECURECTL", os.path.join(BUILD, "securectl"))


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def safetensors_bytes(seed, n=16):
    rnd = random.Random(seed)
    vals = [rnd.gauss(0, 1) / 4 for _ in range(n * n)]
    data = struct.pack(f"<{n * n}f", *vals)
    hdr = json.dumps({"weight": {"dtype": "F32", "shape": [n, n],
                                 "data_offsets": [0, len(data)]}}).encode()
    return struct.pack("<Q", len(hdr)) + hdr + data


class Q:
    """A state dir with secai-audit, secai-quarantine and secai-registry."""

    def __init__(self, app, tmp_path):
        self.app = app
        self.home = app.home
        self.qdir = os.path.join(self.home, "quarantine")
        self.inc = os.path.join(self.qdir, "incoming")
        self.tmp = str(tmp_path)
        self.qproc = None
        self.rproc = None
        self.rport = None
        os.makedirs(self.inc, exist_ok=True)

    # -- daemons
    def start_quarantine(self, env_extra=None):
        env = dict(self.app.env, **(env_extra or {}))
        self.qlog = os.path.join(self.home, f"quarantine-{time.time_ns()}.log")
        self.qproc = subprocess.Popen([binary("secai-quarantine")], env=env,
                                      stdout=subprocess.PIPE, stderr=open(self.qlog, "w"),
                                      text=True)
        self.app.procs.append(self.qproc)
        line = self.qproc.stdout.readline()
        assert "watching" in line, f"{line!r}\n{open(self.qlog).read()}"
        return self.qproc

    def start_registry(self):
        self.rlog = os.path.join(self.home, "registry.log")
        self.rproc = subprocess.Popen([binary("secai-registry"), "--port", "0"],
                                      env=self.app.env, stdout=subprocess.PIPE,
                                      stderr=open(self.rlog, "w"), text=True)
        self.app.procs.append(self.rproc)
        line = self.rproc.stdout.readline()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert m, f"{line!r}\n{open(self.rlog).read()}"
        self.rport = int(m.group(1))

    def get(self, path, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", self.rport, timeout=30)
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    # -- files
    def drop(self, name, data=None, src=None, source=None):
        """Writes under a hidden temporary name, then renames into incoming/."""
        if source is not None:
            side = os.path.join(self.inc, f".{name}.src.tmp")
            with open(side, "w") as f:
                json.dump(source, f)
            os.rename(side, os.path.join(self.inc, name + ".source.json"))
        tmp = os.path.join(self.inc, f".{name}.partial")
        if src is not None:
            if os.path.isdir(src):
                shutil.copytree(src, tmp, symlinks=True)
            else:
                shutil.copyfile(src, tmp)
        else:
            with open(tmp, "wb") as f:
                f.write(data)
        t0 = time.time()
        os.rename(tmp, os.path.join(self.inc, name))
        return t0

    def report(self, sha):
        p = os.path.join(self.qdir, "reports", sha + ".json")
        try:
            with open(p) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def wait_report(self, sha, timeout=240):
        """The final report. A promotion's report is written before the signed manifest that
        names its hash, so "promoted" counts once the manifest lists the model."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.report(sha)
            if r and (r.get("decision") == "rejected" or
                      (r.get("decision") == "promoted" and
                       sha in [m["sha256"] for m in manifest_models(self.home)])):
                return r
            if self.qproc is not None and self.qproc.poll() is not None:
                raise AssertionError("secai-quarantine exited: " + open(self.qlog).read())
            time.sleep(0.05)
        raise AssertionError(f"no verdict for {sha}: " + open(self.qlog).read()[-3000:])

    def policy(self, name, text):
        with open(os.path.join(self.qdir, name), "w") as f:
            f.write(text)

    def audit_events(self):
        if not os.path.exists(self.app.log):
            return []
        return [json.loads(line) for line in self.app.lines()]


@pytest.fixture
def q(app, tmp_path):
    qq = Q(app, tmp_path)
    app.start_audit()
    yield qq


def demo_model(tmp, seed=1):
    out = os.path.join(tmp, f"demo-{seed}.gguf")
    subprocess.run([binary("tools/gen_model"), "--preset", "demo", "--seed", str(seed), out],
                   check=True, capture_output=True)
    return out


def stages(r):
    return {s["stage"]: s["status"] for s in r["stages"]}


def test_demo_model_promoted_served_and_audited(q):
    model = demo_model(q.tmp)
    sha = sha256_file(model)
    q.start_quarantine()
    q.start_registry()
    t0 = q.drop("secai-demo.gguf", src=model)
    # claimed within a second: it leaves incoming/
    while os.path.exists(os.path.join(q.inc, "secai-demo.gguf")):
        assert time.time() - t0 < 1.0, "not claimed within 1 s"
        time.sleep(0.01)
    r = q.wait_report(sha)
    assert r["decision"] == "promoted" and r["reason"] == "all_checks_passed", r
    assert [s["stage"] for s in r["stages"]] == [
        "source_policy", "format_gate", "hash_mismatch", "provenance", "static_scan",
        "behavioral_test", "folder_scan"]
    assert stages(r)["behavioral_test"] == "pass"
    ev = [s for s in r["stages"] if s["stage"] == "behavioral_test"][0]["evidence"]
    assert ev["prompts"] >= 40 and ev["answered"] == ev["prompts"] and ev["sealed"]
    for s in r["stages"]:
        assert re.fullmatch(r"[0-9a-f]{64}", s["evidence_sha256"])
    # registry: read-only copy, signed manifest, API
    path = os.path.join(q.home, "registry", "models", sha, "secai-demo.gguf")
    assert sha256_file(path) == sha
    assert os.stat(path).st_mode & 0o222 == 0
    assert os.stat(os.path.dirname(path)).st_mode & 0o222 == 0
    st, body = q.get("/health")
    assert st == 200 and json.loads(body)["manifest"] == "verified"
    st, body = q.get("/v1/models")
    data = json.loads(body)["data"]
    assert [m["sha256"] for m in data] == [sha]
    m = data[0]
    assert m["format"] == "gguf" and m["quantization"] and m["size"] == os.path.getsize(model)
    assert len(m["stages"]) == 7
    st, body = q.get(f"/v1/models/{sha}")
    assert st == 200 and json.loads(body)["name"] == "secai-demo.gguf"
    st, body = q.get(f"/v1/models/{sha}/report")
    assert st == 200 and hashlib.sha256(body).hexdigest() == m["report_sha256"]
    st, body = q.get(f"/v1/models/{sha}/verify", method="POST")
    assert st == 200 and json.loads(body)["ok"] is True
    assert q.get(f"/v1/models/{sha}", method="DELETE")[0] == 401  # admin only: test_registry_admin
    assert q.get("/v1/models/" + "0" * 64)[0] == 404
    # pinned on first use
    lock = open(os.path.join(q.qdir, "models.lock.yaml")).read()
    assert sha in lock
    # audit: one event per stage, then promoted
    deadline = time.time() + 10
    while time.time() < deadline:
        evs = q.audit_events()
        names = [e.get("event") for e in evs]
        if "quarantine.promoted" in names:
            break
        time.sleep(0.1)
    stage_events = [e for e in evs if e.get("event") == "quarantine.stage"
                    and e["data"]["sha256"] == sha]
    assert len(stage_events) == 7, names
    assert "quarantine.claimed" in names and "quarantine.promoted" in names
    # a tampered manifest is refused
    mpath = os.path.join(q.home, "registry", "manifest.json")
    doc = json.load(open(mpath))
    doc["models"][0]["name"] = "evil.gguf"
    with open(mpath, "w") as f:
        json.dump(doc, f)
    assert q.get("/v1/models")[0] == 503
    assert q.get("/health")[0] == 503


def test_hidden_and_partial_files_left_alone(q):
    q.start_quarantine()
    for n in (".hidden.gguf", "model.gguf.part", "model.gguf.tmp", "x.crdownload"):
        with open(os.path.join(q.inc, n), "wb") as f:
            f.write(b"GGUF partial")
    time.sleep(1.5)
    for n in (".hidden.gguf", "model.gguf.part", "model.gguf.tmp", "x.crdownload"):
        assert os.path.exists(os.path.join(q.inc, n)), n
    assert os.listdir(os.path.join(q.qdir, "processing")) == []


def test_malicious_samples_rejected_at_format_gate(q, shared):
    man = json.load(open(os.path.join(shared, "scanner-samples", "manifest.json")))
    picks = [e for e in man["entries"] if e["class"] == "malicious"][:6]
    picks += [e for e in man["entries"] if e["class"] == "malformed"
              and e["format"] == "safetensors"][:3]
    assert picks
    q.start_quarantine()
    want = {}
    for i, e in enumerate(picks):
        src = os.path.join(shared, "scanner-samples", e["path"])
        name = f"s{i}-" + os.path.basename(src)
        if sha256_file(src) in want:
            continue  # same bytes as an earlier pick: one rejected/<sha> folder, one name
        want[sha256_file(src)] = name
        q.drop(name, src=src)
    for sha, name in want.items():
        r = q.wait_report(sha, timeout=60)
        assert r["decision"] == "rejected" and r["reason"] == "format_gate", (name, r)
        rej = os.path.join(q.qdir, "rejected", sha)
        # the report's verdict is saved just before the item moves into rejected/
        deadline = time.time() + 10
        while not os.path.exists(os.path.join(rej, name)) and time.time() < deadline:
            time.sleep(0.02)
        assert os.path.exists(os.path.join(rej, name))
        assert json.load(open(os.path.join(rej, "report.json")))["reason"] == "format_gate"
        assert stages(r) == {"source_policy": "pass", "format_gate": "fail"}
    assert not glob.glob(os.path.join(q.home, "registry", "models", "*"))


def test_source_policy(q):
    q.policy("sources.allowlist.yaml",
             "sources:\n  - https://huggingface.co/secai/\n")
    q.policy("models.lock.yaml", "models:\n  - name: ok.safetensors\n    sha256: %s\n"
             % hashlib.sha256(safetensors_bytes(5)).hexdigest())
    q.policy("policy.yaml", "waive: [behavioral_test]\n")
    q.start_quarantine()
    cases = {
        "https://huggingface.co.evil.com/secai/m": "source_policy",   # lookalike host
        "https://user@huggingface.co/secai/m": "source_policy",       # userinfo
        "https://huggingface.co/secai/../other/m": "source_policy",   # traversal
        "https://huggingface.co/secai/%2e%2e/m": "source_policy",     # percent-encoding
        "https://huggingface.co/other/m": "source_policy",            # not allow-listed
        "https://huggingface.co/secai/unpinned": "hash_mismatch",     # allowed, not pinned
        "https://HuggingFace.co:443/secai/ok": "all_checks_passed",   # canonical match, pinned
    }
    shas = {}
    for i, (url, _) in enumerate(cases.items()):
        seed = 5 if url.endswith("/ok") else 100 + i
        name = "ok.safetensors" if seed == 5 else f"m{i}.safetensors"
        data = safetensors_bytes(seed)
        shas[url] = hashlib.sha256(data).hexdigest()
        q.drop(name, data=data, source={"kind": "url", "url": url})
    for url, reason in cases.items():
        r = q.wait_report(shas[url], timeout=60)
        assert r["reason"] == reason, (url, r)


def test_integrity_blocked_and_pin_mismatch(q):
    good, bad = safetensors_bytes(1), safetensors_bytes(2)
    q.policy("models.lock.yaml",
             "models:\n  - name: pinned.safetensors\n    sha256: %s\n"
             "blocked:\n  - sha256: %s\n    reason: known backdoor\n"
             % (hashlib.sha256(good).hexdigest(), hashlib.sha256(bad).hexdigest()))
    q.policy("policy.yaml", "waive: [behavioral_test]\n")
    q.start_quarantine()
    q.drop("blocked.safetensors", data=bad)
    q.drop("pinned.safetensors", data=safetensors_bytes(3))  # pin says other bytes
    r = q.wait_report(hashlib.sha256(bad).hexdigest(), timeout=60)
    assert r["reason"] == "hash_mismatch" and "blocked" in json.dumps(r["stages"][-1])
    r = q.wait_report(hashlib.sha256(safetensors_bytes(3)).hexdigest(), timeout=60)
    assert r["reason"] == "hash_mismatch"


def test_unpinned_reject_policy_and_provenance_required(q):
    q.policy("policy.yaml", "unpinned: reject\nwaive: [behavioral_test]\n")
    q.start_quarantine()
    data = safetensors_bytes(9)
    q.drop("u.safetensors", data=data)
    assert q.wait_report(hashlib.sha256(data).hexdigest(), 60)["reason"] == "hash_mismatch"
    q.app.stop(q.qproc)
    q.policy("policy.yaml", "provenance: required\nwaive: [behavioral_test]\n")
    q.start_quarantine()
    data = safetensors_bytes(10)
    q.drop("p.safetensors", data=data)
    r = q.wait_report(hashlib.sha256(data).hexdigest(), 60)
    assert r["reason"] == "provenance", r


def test_policy_cannot_loosen(q):
    q.policy("policy.yaml", "behavioral:\n  threshold: 0.5\n")
    q.start_quarantine()
    data = safetensors_bytes(11)
    q.drop("l.safetensors", data=data)
    r = q.wait_report(hashlib.sha256(data).hexdigest(), 60)
    assert r["reason"] == "source_policy" and "tighten" in json.dumps(r["stages"][0])


def test_behavioral_unavailable_fails_unless_waived(q):
    q.start_quarantine()
    data = safetensors_bytes(12)
    q.drop("st.safetensors", data=data)
    r = q.wait_report(hashlib.sha256(data).hexdigest(), 60)
    assert r["reason"] == "behavioral_test", r
    assert stages(r)["static_scan"] == "pass"
    q.app.stop(q.qproc)
    q.policy("policy.yaml", "waive: [behavioral_test]\n")
    q.start_quarantine()
    data = safetensors_bytes(13)
    q.drop("st2.safetensors", data=data)
    r = q.wait_report(hashlib.sha256(data).hexdigest(), 60)
    assert r["reason"] == "all_checks_passed" and stages(r)["behavioral_test"] == "waived"


def test_behavioral_flags_canary_leak(q, tmp_path):
    # every prompt greets the demo model, whose planted reply contains the "canary"
    prompts = {"version": 1, "canary": "secai's demo model", "system": "be nice",
               "prompts": [{"id": f"p{i}", "category": f"c{i % 12}", "prompt": "Hi"}
                           for i in range(40)]}
    pf = os.path.join(str(tmp_path), "prompts.json")
    json.dump(prompts, open(pf, "w"))
    q.app.write_config(f"quarantine:\n  prompts: {pf}\n")
    q.start_quarantine()
    model = demo_model(q.tmp, seed=1)
    q.drop("leaky.gguf", src=model)
    r = q.wait_report(sha256_file(model))
    assert r["reason"] == "behavioral_test", r
    ev = r["stages"][5]["evidence"]
    assert ev["flagged_count"] > 12 and "canary" in json.dumps(ev["flagged"])


def test_folder_model(q):
    d = os.path.join(q.tmp, "fold")
    os.makedirs(d)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(safetensors_bytes(20))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"model_type": "test"}, f)
    q.policy("policy.yaml", "waive: [behavioral_test]\n")
    q.start_quarantine()
    q.drop("fold", src=d)
    deadline = time.time() + 60
    while time.time() < deadline:
        reps = [json.load(open(p)) for p in glob.glob(os.path.join(q.qdir, "reports", "*.json"))]
        done = [r for r in reps if r["decision"] != "in_progress"]
        if done:
            break
        time.sleep(0.05)
    r = done[0]
    assert r["kind"] == "folder" and r["reason"] == "all_checks_passed", r
    assert stages(r)["folder_scan"] == "pass"
    # a folder with a symlink is refused
    d2 = os.path.join(q.tmp, "fold2")
    shutil.copytree(d, d2)
    os.symlink("/etc/passwd", os.path.join(d2, "tokenizer.json"))
    q.drop("fold2", src=d2)
    deadline = time.time() + 60
    while time.time() < deadline:
        reps = [json.load(open(p)) for p in glob.glob(os.path.join(q.qdir, "reports", "*.json"))]
        r2 = [r for r in reps if r["name"] == "fold2" and r["decision"] != "in_progress"]
        if r2:
            break
        time.sleep(0.05)
    assert r2[0]["decision"] == "rejected", r2


def manifest_models(home):
    """The entries of the registry's manifest.json (replaced atomically); [] before the first."""
    mpath = os.path.join(home, "registry", "manifest.json")
    if not os.path.exists(mpath):
        return []
    with open(mpath) as f:
        return json.load(f)["models"]


def registry_consistent(home):
    """Every manifest entry is a complete read-only model; nothing half-promoted is listed."""
    models = manifest_models(home)
    for m in models:
        assert sha256_file(m["path"]) == m["sha256"], m
    return [m["sha256"] for m in models]


@pytest.mark.parametrize("step", ["promote.moved", "promote.readonly", "promote.renamed",
                                  "promote.manifest"])
def test_crash_at_each_promotion_step(q, step):
    q.policy("policy.yaml", "waive: [behavioral_test]\n")
    q.start_quarantine({"SECAI_QR_CRASH_AT": step})
    data = safetensors_bytes(30)
    sha = hashlib.sha256(data).hexdigest()
    q.drop("c.safetensors", data=data)
    q.qproc.wait(timeout=60)
    assert q.qproc.returncode == -signal.SIGKILL
    listed = registry_consistent(q.home)
    assert listed in ([], [sha])
    q.start_quarantine()
    deadline = time.time() + 60
    while time.time() < deadline and registry_consistent(q.home) != [sha]:
        time.sleep(0.05)
    assert registry_consistent(q.home) == [sha]
    time.sleep(0.3)
    models = os.listdir(os.path.join(q.home, "registry", "models"))
    assert models == [sha], models
    assert os.listdir(os.path.join(q.qdir, "processing")) == []


def test_random_kills_never_half_promote(q):
    kills = int(os.environ.get("SECAI_QR_KILLS", "50"))
    q.policy("policy.yaml", "waive: [behavioral_test]\n")
    rnd = random.Random(7)
    expected = set()
    for i in range(kills):
        q.start_quarantine()
        data = safetensors_bytes(1000 + i)
        expected.add(hashlib.sha256(data).hexdigest())
        q.drop(f"k{i}.safetensors", data=data)
        time.sleep(rnd.uniform(0, 0.25))
        q.qproc.kill()
        q.qproc.wait()
        registry_consistent(q.home)  # old or new registry, never half
    q.start_quarantine()
    deadline = time.time() + 120
    while time.time() < deadline and set(registry_consistent(q.home)) != expected:
        time.sleep(0.1)
    assert set(registry_consistent(q.home)) == expected
    assert sorted(os.listdir(os.path.join(q.home, "registry", "models"))) == sorted(expected)


def have_import():
    if not os.path.exists(SECURECTL_QR):
        return False
    r = subprocess.run([SECURECTL_QR, "import", "--help"], capture_output=True, text=True)
    return r.returncode == 0


def test_securectl_import_and_quarantine_commands(q):
    if not have_import():
        pytest.skip("securectl has no `import` subcommand yet: add the table lines to "
                    "src/securectl/main.c (or set SECAI_QR_SECURECTL)")
    env = q.app.env
    model = demo_model(q.tmp, seed=3)
    sha = sha256_file(model)
    q.start_quarantine()
    r = subprocess.run([SECURECTL_QR, "import", model, "--wait", "240"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "100%" in r.stderr and sha in r.stdout
    bad = os.path.join(q.tmp, "x.safetensors")
    open(bad, "wb").write(safetensors_bytes(40))
    r = subprocess.run([SECURECTL_QR, "import", bad, "--source",
                        "https://evil.example/x.safetensors", "--wait", "60"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "source_policy" in r.stdout, r.stdout + r.stderr
    # --wait reports "rejected" only once the item and its sidecar are in rejected/
    side = glob.glob(os.path.join(q.qdir, "rejected", "*", "x.safetensors.source.json"))
    assert side and json.load(open(side[0]))["url"] == "https://evil.example/x.safetensors"
    r = subprocess.run([SECURECTL_QR, "quarantine", "status", "--json"], env=env,
                       capture_output=True, text=True)
    st = json.loads(r.stdout)
    assert st["promoted"] == 1 and st["rejected"] == 1 and st["manifest"] == "verified"
    r = subprocess.run([SECURECTL_QR, "quarantine", "list"], env=env, capture_output=True,
                       text=True)
    assert "all_checks_passed" in r.stdout and "source_policy" in r.stdout
    r = subprocess.run([SECURECTL_QR, "quarantine", "show", sha[:12]], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "behavioral_test" in r.stdout
