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
    assert "Request refused (" in r.stderr and "policy" in r.stderr.lower()
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


POLICY = """version: 1
rpc:
  - id: ai-echo
    match: {service: secai.Echo, source: ai, target: work}
    decision: allow
  - id: ai-echo-arg
    match: {service: secai.Arg, argument: "+x*", source: ai, target: work}
    decision: allow
  - id: ask-me
    match: {service: secai.Ask, source: ai}
    decision: ask
"""


def write_policy(app, text):
    path = os.path.join(app.home, "policy.yaml")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    time.sleep(0.05)


def test_allowed_call_runs_in_target_and_streams(broker):
    write_policy(broker, POLICY)
    rpc = os.path.join(broker.home, "compartments", "work", "rpc")
    with open(os.path.join(rpc, "secai.Echo"), "w") as f:
        f.write("#!/bin/sh\ntouch /home/user/ran\necho \"hello $QREXEC_REMOTE_DOMAIN from "
                "$(hostname)\"\ncat\necho err >&2\nexit 3\n")
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Echo", input="line1\nline2\n")
    assert r.returncode == 3, r.stderr
    assert r.stdout == "hello ai from work\nline1\nline2\n"
    assert r.stderr == "err\n"
    assert os.path.exists(os.path.join(broker.home, "compartments", "work", "home", "ran"))
    time.sleep(0.3)
    calls = [json.loads(x)["data"] for x in broker.lines() if '"broker.call"' in x]
    assert calls[-1]["source"] == "ai" and calls[-1]["exit"] == 3
    assert calls[-1]["rule"].endswith("policy.yaml:3") and len(calls[-1]["policy_digest"]) == 64
    # the reverse direction has no rule: refused, nothing runs in ai
    r = in_compartment(broker, "work", "secai-call", "ai", "secai.Echo")
    assert r.returncode == 126


def test_argument_service_file_and_policy(broker):
    write_policy(broker, POLICY)
    rpc = os.path.join(broker.home, "compartments", "work", "rpc")
    for name, body in (("secai.Arg", "echo generic $QREXEC_SERVICE_ARGUMENT"),
                       ("secai.Arg+xyz", "echo specific $QREXEC_SERVICE_FULL_NAME")):
        with open(os.path.join(rpc, name), "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(os.path.join(rpc, name), 0o755)
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Arg+xyz")
    assert r.stdout == "specific secai.Arg+xyz\n", r.stderr
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Arg+x1")
    assert r.stdout == "generic x1\n", r.stderr
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Arg+other")
    assert r.returncode == 126  # the argument does not match the rule
    # a symlinked service file is never run
    os.symlink("/bin/true", os.path.join(rpc, "secai.Arg+xlink"))
    os.remove(os.path.join(rpc, "secai.Arg"))
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Arg+xlink")
    assert r.returncode == 126 and "has no service" in r.stderr


def test_ask_without_a_prompt_is_refused(broker):
    write_policy(broker, POLICY)
    r = in_compartment(broker, "ai", "secai-call", "work", "secai.Ask")
    assert r.returncode == 126 and "ask" in r.stderr


def test_policy_reload_keeps_old_when_broken(broker):
    write_policy(broker, POLICY)
    assert in_compartment(broker, "ai", "secai-call", "work", "secai.Echo").returncode == 0
    write_policy(broker, "version: 1\nrpc: [ {decision: maybe} ]\n")
    assert in_compartment(broker, "ai", "secai-call", "work", "secai.Echo").returncode == 0
    assert "keeping the previous one" in open(broker.broker_log).read()
    write_policy(broker, "version: 1\n")  # a valid policy without rpc rules
    assert in_compartment(broker, "ai", "secai-call", "work", "secai.Echo").returncode == 126
