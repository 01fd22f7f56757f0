"""`securectl scan --manifest / --verify-manifest` and trailing payloads, on models written by
tools/gen_model: the manifest of an untouched model verifies; one flipped byte names exactly
the tensor that holds it; a payload appended after the data is both a structure error and an
embedded-payload finding."""
import json
import os
import subprocess

import pytest

from conftest import binary


@pytest.fixture
def model(tmp_path):
    path = str(tmp_path / "m.gguf")
    subprocess.run([binary("tools/gen_model"), "--preset", "demo", path], check=True,
                   capture_output=True)
    return path


def scan(*args):
    return subprocess.run([binary("securectl"), "scan", *args], capture_output=True, text=True,
                          timeout=120)


def test_manifest_roundtrip(model, tmp_path):
    out = str(tmp_path / "m.manifest.json")
    r = scan("--manifest", out, model)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "manifest: 39 tensors, merkle root " in r.stdout
    m = json.load(open(out))
    assert len(m["tensors"]) == 39
    r = scan("--verify-manifest", out, model)
    assert r.returncode == 0 and "manifest.verified" in r.stdout


def test_manifest_names_the_changed_tensor(model, tmp_path):
    out = str(tmp_path / "m.manifest.json")
    assert scan("--manifest", out, model).returncode == 0
    m = json.load(open(out))
    # flip a byte in the middle of one tensor (offsets in the manifest are absolute)
    victim = m["tensors"][len(m["tensors"]) // 2]
    with open(model, "r+b") as f:
        f.seek(victim["offset"] + victim["nbytes"] // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x10]))
    r = scan("--json", "--verify-manifest", out, model)
    assert r.returncode == 2
    rep = json.loads(r.stdout)
    changed = [f for f in rep["findings"] if f["reason"] == "manifest.tensor_changed"]
    assert [f.get("subject") for f in changed] == [victim["name"]], changed


def test_manifest_needs_a_model_file(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x80\x04K\x01.")
    r = scan("--manifest", str(tmp_path / "o.json"), str(tmp_path / "x.bin"))
    assert r.returncode == 2 and "manifest.unavailable" in r.stdout
    r = scan("--manifest", str(tmp_path / "o.json"), str(tmp_path))
    assert r.returncode == 64


def test_trailing_payload_reported(model):
    with open(model, "ab") as f:
        f.write(b"\x7fELF\x02\x01\x01" + b"\x00" * 57 + b"payload")
    r = scan("--json", model)
    assert r.returncode == 2
    reasons = {f["reason"] for f in json.loads(r.stdout)["findings"]}
    assert any(x.startswith("gguf.") for x in reasons), reasons
    assert any(x.startswith("payload.") for x in reasons), reasons
