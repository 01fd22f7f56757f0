"""`securectl up`: the README's main command on its embedded default. The demo model is written
by the project into the quarantine, vetted through the seven stages, promoted into the registry
and served from there by a sealed secai-infer, and up prints a first answer; status shows every
daemon and the served model; the audit log records every step; a served model changed on disk
is refused; a configured model is served instead of the demo, after the quarantine promoted it
(secai-infer serves only what the signed registry lists)."""
import glob
import json
import os
import re
import signal
import subprocess
import time

from conftest import binary, free_port, sha256


def events(app):
    return [json.loads(x)["event"] for x in app.lines()]


def test_up_check_serves_demo_and_answers(app):
    app.write_config(f"infer:\n  port: {(port := free_port())}\nregistry:\n  port: {free_port()}\n")
    r = app.ctl("up", "--check", timeout=300)
    out = r.stdout
    incoming = os.path.join(app.home, "quarantine", "incoming", "secai-demo.gguf")
    assert f"secai: demo model written into the quarantine: {incoming}" in out
    for stage in ("source_policy", "format_gate", "hash_mismatch", "provenance", "static_scan",
                  "behavioral_test"):
        assert re.search(rf"quarantine stage {stage} +pass", out), (stage, out)
    m = re.search(r"the registry lists (\S+)", out)
    assert m and m.group(1).startswith(os.path.join(app.home, "registry", "models"))
    served = m.group(1)
    assert f"sha256 {sha256(served)}" in out
    assert f"secai: infer      up  http://127.0.0.1:{port}/v1" in out
    assert "secai: first answer" in out and re.search(r"\(\d+ tokens", out)
    # the greeting planted in the demo model's weights (modelgen.h, MODELGEN_GREETING)
    assert ("model: Hello! I am secai's demo model. My weights are random, but this answer came "
            "through the real path: generated here, scanned, pinned to its SHA-256 and served by "
            "a sealed engine.") in out
    assert "intact" in out
    # first run: the demo compartments, and the same model asked from a workspace through the
    # broker and deploy/qubes' qrexec policy (sys-ai has no network: infer's Unix socket)
    assert "secai: first run: compartments sys-ai, work, sys-config" in out
    assert "secai: broker     up" in out
    m = re.search(r"\n  sys-ai: (.*)\n", out)
    assert m and len(m.group(1).strip()) > 0, out
    assert os.path.exists(os.path.join(app.home, "policy.d", "30-secai.policy"))
    ev = events(app)
    for e in ("infer.started", "infer.sealed", "infer.stopped", "appliance.check"):
        assert e in ev, (e, ev)
    assert any(e.startswith("quarantine.") for e in ev), ev
    started = [json.loads(x) for x in app.lines()
               if json.loads(x)["event"] == "infer.started"][0]["data"]
    assert started["sha256"] == sha256(served) and started["model"] == served
    # the second start reuses the registry's model
    r = app.ctl("up", "--check", timeout=300)
    assert "secai: demo model in the registry" in r.stdout
    assert "written into the quarantine" not in r.stdout
    rc, v = app.verify()
    assert rc == 0


def test_up_refuses_changed_model(app):
    app.write_config(f"infer:\n  port: {free_port()}\nregistry:\n  port: {free_port()}\n")
    r = app.ctl("up", "--check", timeout=300)
    served = re.search(r"the registry lists (\S+)", r.stdout).group(1)
    os.chmod(served, 0o644)
    with open(served, "r+b") as f:  # flip a byte inside the weights
        f.seek(os.path.getsize(served) - 100)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x01]))
    r = app.ctl("up", "--check", check=False, timeout=300)
    assert r.returncode == 1
    assert "refusing" in r.stderr and "did not become healthy" in r.stderr
    assert "(hash_mismatch)" in r.stderr and "changed after promotion" in r.stderr


def test_up_status_shows_model(app):
    port = free_port()
    app.write_config(f"infer:\n  port: {port}\nregistry:\n  port: {free_port()}\n")
    # its own session and process group, as a shell's foreground job is
    up = subprocess.Popen([binary("securectl"), "up"], env=app.env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    app.procs.append(up)
    deadline = time.time() + 120
    st = None
    while time.time() < deadline:
        r = app.ctl("status", "--json", check=False)
        if r.returncode == 0:
            st = json.loads(r.stdout)
            break
        time.sleep(0.2)
    assert st and st["healthy"], r.stdout
    infer = [d for d in st["daemons"] if d["name"] == "infer"][0]
    assert infer["model"] == "secai-demo.gguf"
    assert infer["sha256"] == sha256(glob.glob(os.path.join(app.home, "registry", "models", "*",
                                                            "secai-demo.gguf"))[0])
    assert [d["name"] for d in st["daemons"]] == ["audit", "policy", "quarantine", "registry",
                                                  "infer", "broker"]
    assert all(d["healthy"] for d in st["daemons"]), st
    text = app.ctl("status").stdout
    assert re.search(r"^infer\s+up\s+", text, re.M) and "model=secai-demo.gguf" in text
    # securectl models: what the registry serves
    listed = json.loads(app.ctl("models", "--json").stdout)
    assert [m["name"] for m in listed] == ["secai-demo.gguf"]
    assert listed[0]["sha256"] == infer["sha256"] and listed[0]["format"] == "gguf"
    assert "secai-demo.gguf" in app.ctl("models").stdout
    # the appliance answers any OpenAI client, and the process is sealed
    r = app.ctl("chat", "--max-tokens", "4", input="hi\n/quit\n")
    assert "tokens/s]" in r.stderr
    # Ctrl-C: the terminal sends SIGINT to the whole foreground process group. Only the
    # supervisor may take it (the daemons are in groups of their own), so the daemons stop in
    # reverse start order and the audit daemon, last, still records infer's stop.
    os.killpg(up.pid, signal.SIGINT)
    out, _ = up.communicate(timeout=60)
    assert up.returncode == 0, out
    assert "secai-infer stopped (exit 0)" in out
    assert "audit daemon connection failed" not in out, out
    stops = [m.group(1) for m in re.finditer(r"securectl\[\d+\] info: (secai-\w+) stopped", out)]
    assert stops == ["secai-broker", "secai-infer", "secai-registry", "secai-quarantine",
                     "secai-policy", "secai-audit"], out
    assert "infer.stopped" in events(app)
    r = app.ctl("models", check=False)
    assert r.returncode == 1 and "does not answer" in r.stderr


def test_up_serves_configured_model(app, tmp_path):
    model = str(tmp_path / "mine.gguf")
    subprocess.run([binary("tools/gen_model"), "--preset", "demo", "--seed", "77", model],
                   check=True, capture_output=True)
    reg = f"registry:\n  port: {free_port()}\n"
    app.write_config(f"infer:\n  port: {free_port()}\n  model: {model}\n"
                     f"  model_sha256: {sha256(model)}\n" + reg)
    r = app.ctl("up", "--check", timeout=300)
    assert "secai: first answer" in r.stdout and "secai: demo model" not in r.stdout
    assert not os.path.exists(os.path.join(app.home, "quarantine", "incoming", "secai-demo.gguf"))
    # it went through the quarantine, and infer served the registry's copy, not the file
    assert "secai: configured model copied into the quarantine" in r.stdout
    served = os.path.join(app.home, "registry", "models", sha256(model), "mine.gguf")
    assert f"the registry lists {served}" in r.stdout
    started = [json.loads(x)["data"] for x in app.lines()
               if json.loads(x)["event"] == "infer.started"]
    assert started[-1]["model"] == served and started[-1]["sha256"] == sha256(model)
    # the next start finds it in the registry
    r = app.ctl("up", "--check", timeout=300)
    assert f"secai: configured model {model} in the registry: {served}" in r.stdout
    # a wrong pin: infer itself refuses the registry's copy, up says so and fails
    app.write_config(f"infer:\n  port: {free_port()}\n  model: {model}\n"
                     f"  model_sha256: {'ab' * 32}\n" + reg)
    r = app.ctl("up", "--check", check=False, timeout=300)
    assert r.returncode == 1
    assert "refusing" in r.stderr and "pin_mismatch" in r.stderr
    assert "did not become healthy" in r.stderr
    refused = [json.loads(x)["data"] for x in app.lines()
               if json.loads(x)["event"] == "infer.refused"]
    assert refused and refused[-1]["reason"] == "pin_mismatch"
