"""Fixtures for secai's end-to-end tests: real binaries, real daemons, Unix sockets and
loopback ports in a fresh state directory per test. Binaries come from $SECAI_BUILD
(scripts/run-tests.sh sets it; default build/asan), reference data from $SECAI_SHARED."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SECAI_BUILD", os.path.join(ROOT, "build", "asan"))
SHARED = os.environ.get("SECAI_SHARED", os.path.join(ROOT, "..", "shared"))


def free_port():
    """A loopback port nothing listens on now (for a daemon's config)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: build first (make check builds it)")
    return path


class Appliance:
    """A state directory plus helpers to run securectl and daemons against it."""

    def __init__(self, home):
        self.home = str(home)
        self.env = dict(os.environ, SECAI_HOME=self.home, SECAI_LOG_LEVEL="info")
        self.env.pop("SECAI_CONFIG", None)
        self.procs = []
        self.log = os.path.join(self.home, "audit", "audit.jsonl")
        self.sock = os.path.join(self.home, "run", "audit.sock")

    def write_config(self, text):
        os.makedirs(self.home, exist_ok=True)
        path = os.path.join(self.home, "appliance.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def ctl(self, *args, check=True, timeout=120, input=None):
        r = subprocess.run([binary("securectl"), *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"securectl {' '.join(args)} exited {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def start_audit(self, wait=True, extra=()):
        errlog = open(os.path.join(self.home, f"audit-daemon-{len(self.procs)}.log"), "w")
        os.makedirs(self.home, exist_ok=True)
        p = subprocess.Popen([binary("secai-audit"), *extra], env=self.env,
                             stdout=errlog, stderr=subprocess.STDOUT)
        p.errlog = errlog.name
        self.procs.append(p)
        if wait:
            self.wait_socket(p)
        return p

    def wait_socket(self, p, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if p.poll() is not None:
                raise AssertionError(f"secai-audit exited {p.returncode}: "
                                     + open(p.errlog).read())
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.sendall(b'{"op":"status"}\n')
                data = s.recv(65536)
                s.close()
                if data.endswith(b"\n"):
                    return json.loads(data)
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError("secai-audit did not answer in time: " + open(p.errlog).read())

    def stop(self, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is None:
            p.send_signal(sig)
            p.wait(timeout=timeout)
        return p.returncode

    def lines(self):
        with open(self.log, encoding="utf-8") as f:
            return f.read().splitlines()

    def verify(self, *extra):
        r = self.ctl("audit", "verify", "--json", *extra, check=False)
        assert r.returncode in (0, 2), r.stderr
        return r.returncode, json.loads(r.stdout)

    def cleanup(self):
        # SIGTERM first: `securectl up` then stops the daemons it started (a SIGKILL would
        # leave them running after a failed test)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.fixture
def app(tmp_path):
    a = Appliance(tmp_path / "state")
    os.makedirs(a.home)
    yield a
    a.cleanup()


@pytest.fixture
def shared():
    if not os.path.isdir(SHARED):
        pytest.skip(f"reference data not found at {SHARED} (set SECAI_SHARED)")
    return SHARED


def sha256(path):
    r = subprocess.run(["sha256sum", path], capture_output=True, text=True, check=True)
    return r.stdout.split()[0]


def promote(home, model, name=None, timeout=300):
    """Vets model through the real secai-quarantine into home's registry, the only way a model
    reaches secai-infer (it checks the signed manifest itself). No audit daemon: the
    quarantine's events are spooled. Returns the promoted path (STATE/registry/models/SHA/NAME);
    its registry folder is registry_of(path)."""
    home = str(home)
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, SECAI_HOME=home, SECAI_LOG_LEVEL="info")
    env.pop("SECAI_CONFIG", None)
    log = open(os.path.join(home, f"promote-quarantine-{time.time_ns()}.log"), "w")
    q = subprocess.Popen([binary("secai-quarantine")], env=env, stdout=subprocess.PIPE,
                         stderr=log, text=True)
    try:
        line = q.stdout.readline()
        assert "watching" in line, f"secai-quarantine did not start: {line!r}"
        r = subprocess.run([binary("securectl"), "import", model, "--wait", str(timeout),
                            *(["--name", name] if name else [])],
                           env=env, capture_output=True, text=True, timeout=timeout + 60)
        assert r.returncode == 0, f"not promoted: {r.stdout}{r.stderr}"
    finally:
        q.send_signal(signal.SIGTERM)
        q.wait(timeout=60)
        log.close()
    path = os.path.join(home, "registry", "models", sha256(model),
                        name or os.path.basename(model))
    assert os.path.exists(path), path
    return path


def registry_of(path):
    """STATE/registry for a path inside STATE/registry/models/, else None."""
    head, sep, _ = str(path).rpartition(os.sep + os.path.join("registry", "models") + os.sep)
    return os.path.join(head, "registry") if sep else None


class Infer:
    """One secai-infer process on an ephemeral loopback port. model is normally a promoted path
    (see promote); its registry is passed with --registry unless registry= says otherwise
    (registry=False: none given, infer uses its configured default)."""

    def __init__(self, home, model, *extra, sha=None, wait=True, registry=None):
        self.home = str(home)
        os.makedirs(self.home, exist_ok=True)
        self.env = dict(os.environ, SECAI_HOME=self.home, SECAI_LOG_LEVEL="info")
        self.env.pop("SECAI_CONFIG", None)
        self.errpath = os.path.join(self.home, "infer.log")
        self.err = open(self.errpath, "w")
        if registry is None:
            registry = registry_of(model)
        reg = ["--registry", registry] if registry else []
        self.p = subprocess.Popen(
            [binary("secai-infer"), "--model", model, "--sha256", sha or sha256(model),
             "--port", "0", *reg, *extra],
            env=self.env, stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.port = None
        if wait:
            line = self.p.stdout.readline()
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            assert m, f"no listening line: {line!r}\n{self.log()}"
            self.port = int(m.group(1))

    def log(self):
        self.err.flush()
        return open(self.errpath).read()

    def conn(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, raw=None):
        c = self.conn()
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        c.close()
        return r.status, r.getheader("Content-Type"), payload

    def json(self, method, path, body=None, **kw):
        status, ctype, payload = self.request(method, path, body, **kw)
        return status, json.loads(payload)

    def metrics(self):
        status, _, payload = self.request("GET", "/metrics")
        assert status == 200
        out = {}
        for line in payload.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            self.p.wait(timeout=timeout)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
