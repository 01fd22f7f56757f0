"""secai-broker and secai-call end to end, with the real bubblewrap: each compartment reaches
the broker only on its own socket, the broker attributes the call to that compartment (nothing
the caller says can change it), asks the rpc policy, and on refusal nothing runs in the target;
every refusal is an audit event. Malformed calls are refused; secai-call's exit codes."""
import json
import os
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import Appliance, binary

YAML = """compartments:
  ai:
    type: AppVM
    tags: [ai]
  work:
    type: AppVM
    tags: [workspace]
"""


@pytest.fixture
def broker(tmp_path):
    if shutil.which("bwrap") is None:
        pytest.skip("SKIPPED: bubblewrap (bwrap) is not installed")
    app = Appliance(tmp_path / "state")
    os.makedirs(app.home)
    (tmp_path / "state" / "compartments.yaml").write_text(YAML)
    app.start_audit()
    log = open(os.path.join(app.home, "broker.log"), "w")
    p = subprocess.Popen([binary("secai-broker")], env=app.env, stdout=subprocess.PIPE,
                         stderr=log, text=True)
    app.procs.append(p)
    assert "listening for 2 compartments" in p.stdout.readline()
    # a service in work that would leave a mark if it ever ran
    rpc = tmp_path / "state" / "compartments" / "work" / "rpc"
    (rpc / "secai.Echo").write_text("#!/bin/sh\ntouch /home/user/ran\necho hi\n")
    (rpc / "secai.Echo").chmod(0o755)
    app.broker = p
    app.broker_log = log.name
    yield app
    app.cleanup()


def in_compartment(app, name, *cmd, input=None):
    return subprocess.run([binary("securectl"), "compartment", "run", name, *cmd], env=app.env,
                          capture_output=True, text=True, input=input, timeout=60)


def test_refused_without_policy_and_nothing_runs(broker):
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Echo", input="x")
    assert r.returncode == 126
    assert "Request refused (no rpc policy is loaded (default deny))" in r.stderr
    assert not os.path.exists(os.path.join(broker.home, "compartments", "work", "home", "ran"))
    time.sleep(0.3)
    events = [json.loads(x) for x in broker.lines()]
    refused = [e for e in events if e["event"] == "broker.refused"]
    assert refused and refused[-1]["data"]["source"] == "ai"
    assert refused[-1]["data"]["target"] == "work" and refused[-1]["data"]["service"] == "secai.Echo"
    assert any(e["event"] == "broker.started" for e in events)


def frame(t, data):
    return struct.pack("<BI", t, len(data)) + data


def raw_call(sock_path, payload):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(payload)
    s.settimeout(15)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def decision(raw):
    t, n = struct.unpack_from("<BI", raw)
    assert t == 2
    return json.loads(raw[5:5 + n])


def test_caller_is_the_socket_not_the_request(broker):
    # a request claiming to come from "work", sent on ai's socket, is still ai's
    sock = os.path.join(broker.home, "run", "broker", "ai", "call.sock")
    body = json.dumps({"target": "work", "service": "secai.Echo", "arg": "",
                       "source": "work"}).encode()
    d = decision(raw_call(sock, frame(1, body)))
    assert d["allow"] is False
    time.sleep(0.3)
    refused = [json.loads(x) for x in broker.lines() if '"broker.refused"' in x]
    assert refused[-1]["data"]["source"] == "ai"


@pytest.mark.parametrize("payload", [
    frame(1, b"not json"),
    frame(1, json.dumps({"target": "work", "service": "../../bin/sh", "arg": ""}).encode()),
    frame(1, json.dumps({"target": "work", "service": "x", "arg": "../etc"}).encode()),
    frame(1, json.dumps({"target": "w" * 100, "service": "x", "arg": ""}).encode()),
])
def test_malformed_requests_refused(broker, payload):
    sock = os.path.join(broker.home, "run", "broker", "ai", "call.sock")
    d = decision(raw_call(sock, payload))
    assert d["allow"] is False and d["reason"] == "malformed request"


def test_garbage_frames_do_not_hurt_the_broker(broker):
    sock = os.path.join(broker.home, "run", "broker", "ai", "call.sock")
    assert raw_call(sock, b"\x07\xff\xff\xff\xff") == b""  # bad type and length: closed
    assert raw_call(sock, struct.pack("<BI", 1, 1 << 30)) == b""  # oversized: closed
    assert broker.broker.poll() is None
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Echo")
    assert r.returncode == 126


def test_secai_call_usage(broker):
    r = in_compartment(broker, "ai", "secai-call", "work")
    assert r.returncode == 64
    r = in_compartment(broker, "ai", "secai-call", "work", "bad/name")
    assert r.returncode == 64 and "is not SERVICE[+ARG]" in r.stderr
    r = subprocess.run([binary("secai-call"), "work", "secai.Echo"], capture_output=True,
                       text=True, env=dict(os.environ, SECAI_CALL_SOCKET="/nonexistent/x.sock"))
    assert r.returncode == 1 and "cannot reach the broker" in r.stderr


def test_sigterm_stops_cleanly(broker):
    broker.broker.terminate()
    assert broker.broker.wait(timeout=20) == 0
