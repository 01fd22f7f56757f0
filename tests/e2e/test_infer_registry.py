"""secai-infer refuses, by itself, any model the signed registry does not vouch for (issue 6/7):
not in the manifest, a manifest whose signature fails (one byte flipped), a file modified after
promotion, a path outside the registry store, a pin other than the listed hash, a replaced key
pair (caught with a copy of the key kept elsewhere), no registry at all. Each refusal is exit 1
with a message naming what failed and what to do, and an infer.refused audit event. A properly
promoted model is served, found through --registry, the infer.registry config key, or the
default STATE/registry."""
import json
import os
import shutil

import pytest

from conftest import Appliance, Infer, binary, promote, registry_of, sha256

import subprocess


@pytest.fixture(scope="module")
def promoted(tmp_path_factory):
    """One demo model promoted by the real quarantine; tests put back whatever they change."""
    src = str(tmp_path_factory.mktemp("src") / "reg-demo.gguf")
    subprocess.run([binary("tools/gen_model"), "--preset", "demo", "--seed", "31", src],
                   check=True, capture_output=True)
    path = promote(tmp_path_factory.mktemp("home"), src)
    return {"src": src, "path": path, "sha": sha256(src), "registry": registry_of(path)}


@pytest.fixture
def audited(tmp_path):
    """secai-infer's own state dir with a running audit daemon, to read infer.refused from."""
    a = Appliance(tmp_path / "infer-home")
    os.makedirs(a.home)
    a.start_audit()
    yield a
    a.cleanup()


def started(a):
    return sum(json.loads(x)["event"] == "infer.started" for x in a.lines())


def refused(a, model, reason, *extra, sha=None, registry=None):
    n_started = started(a)
    s = Infer(a.home, model, *extra, sha=sha, wait=False, registry=registry)
    rc = s.p.wait(timeout=120)
    log = s.log()
    s.kill()
    assert rc == 1, log
    assert f"refusing {model} ({reason})" in log, log
    ev = [json.loads(x) for x in a.lines()]
    ev = [e["data"] for e in ev if e["event"] == "infer.refused"]
    assert ev and ev[-1]["reason"] == reason and ev[-1]["model"] == model, ev
    assert started(a) == n_started  # nothing was served
    return log


def test_accepts_promoted_model(promoted, audited):
    s = Infer(audited.home, promoted["path"])
    try:
        st, body = s.json("GET", "/v1/models")
        assert st == 200 and body["data"][0]["meta"]["sha256"] == promoted["sha"]
        assert f"registry {promoted['registry']} lists {promoted['path']} at the pinned " \
               "sha256" in s.log()
    finally:
        s.stop()
    ev = [json.loads(x)["event"] for x in audited.lines()]
    assert "infer.started" in ev and "infer.refused" not in ev


def test_refuses_path_outside_store(promoted, audited):
    # the very same bytes, but not the registry's copy
    log = refused(audited, promoted["src"], "outside_store", registry=promoted["registry"])
    assert "not inside the registry store" in log and "securectl import" in log
    # a symlink in the store that points out is still outside
    link = os.path.join(promoted["registry"], "models", "link.gguf")
    os.symlink(promoted["src"], link)
    try:
        refused(audited, link, "outside_store", sha=promoted["sha"],
                registry=promoted["registry"])
    finally:
        os.unlink(link)


def test_refuses_model_not_in_manifest(promoted, audited):
    d = os.path.join(promoted["registry"], "models", "f" * 64)
    os.makedirs(d)
    copy = os.path.join(d, "reg-demo.gguf")
    shutil.copyfile(promoted["path"], copy)
    try:
        log = refused(audited, copy, "not_listed", sha=promoted["sha"])
        assert "does not list it" in log
    finally:
        shutil.rmtree(d)


def test_refuses_tampered_manifest(promoted, audited):
    mpath = os.path.join(promoted["registry"], "manifest.json")
    good = open(mpath, "rb").read()
    for where in (good.index(b'"signature"') + 20, good.index(b"reg-demo.gguf") + 3):
        bad = bytearray(good)
        bad[where] ^= 0x01  # flip one bit of one byte: of the signature, of a name
        with open(mpath, "wb") as f:
            f.write(bad)
        try:
            log = refused(audited, promoted["path"], "manifest_invalid")
            assert "does not verify" in log or "not 64 bytes" in log or "JSON" in log, log
        finally:
            with open(mpath, "wb") as f:
                f.write(good)
    Infer(audited.home, promoted["path"]).kill()  # restored: served again


def test_refuses_file_modified_after_promotion(promoted, audited):
    p = promoted["path"]
    mode = os.stat(p).st_mode
    os.chmod(p, 0o644)
    size = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.seek(size - 100)
        b = f.read(1)
        f.seek(size - 100)
        f.write(bytes([b[0] ^ 0x01]))
    try:
        log = refused(audited, p, "hash_mismatch", sha=promoted["sha"])
        assert f"but the registry lists (and the pin is) {promoted['sha']}" in log
        assert "securectl models delete" in log
    finally:
        with open(p, "r+b") as f:
            f.seek(size - 100)
            f.write(b)
        os.chmod(p, mode)
    assert sha256(p) == promoted["sha"]


def test_refuses_other_pin(promoted, audited):
    log = refused(audited, promoted["path"], "pin_mismatch", sha="ab" * 32)
    assert f"the registry lists sha256 {promoted['sha']}" in log


def test_registry_key_copy_and_config(promoted, audited, tmp_path):
    pub = os.path.join(promoted["registry"], "registry.pub")
    # a copy of the right key kept elsewhere: accepted
    keep = str(tmp_path / "kept.pub")
    shutil.copyfile(pub, keep)
    Infer(audited.home, promoted["path"], "--registry-pub", keep).kill()
    # another key (the pair beside the manifest was replaced): the copy catches it
    other = str(tmp_path / "other.pub")
    with open(other, "w") as f:
        f.write("11" * 32 + "\n")
    log = refused(audited, promoted["path"], "manifest_invalid", "--registry-pub", other)
    assert "signed by another key" in log
    # no key file at all
    refused(audited, promoted["path"], "registry_key", "--registry-pub",
            str(tmp_path / "none.pub"))
    # the config keys, no command-line option
    with open(os.path.join(audited.home, "appliance.yaml"), "w") as f:
        f.write(f"infer:\n  registry: {promoted['registry']}\n  registry_pub: {keep}\n")
    Infer(audited.home, promoted["path"], registry=False).kill()
    with open(os.path.join(audited.home, "appliance.yaml"), "w") as f:
        f.write(f"infer:\n  registry: {promoted['registry']}\n  registry_pub: {other}\n")
    refused(audited, promoted["path"], "manifest_invalid", registry=False)


def test_refuses_without_registry(promoted, audited):
    # the default is STATE/registry of infer's own state dir, which has none
    log = refused(audited, promoted["path"], "registry_key", registry=False)
    assert os.path.join(audited.home, "registry", "registry.pub") in log
