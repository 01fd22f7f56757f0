"""secai-infer end to end: the real server on a loopback port serving a model written by
tools/gen_model. OpenAI API shapes (whole and streamed), requests exactly as the OpenAI SDKs send
them, error statuses (a malformed request is a 400, never a 500), the queue bound (429), a
disconnect cancelling its generation, SIGTERM draining, the seccomp seal, the SHA-256 pin, the
audit events, and agreement with `securectl run` token for token."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import Appliance, Infer, binary, promote, sha256


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The demo model as secai-infer may serve it: promoted by the quarantine into a registry
    (tests/e2e/test_infer_registry.py covers what infer refuses)."""
    path = str(tmp_path_factory.mktemp("models") / "demo.gguf")
    subprocess.run([binary("tools/gen_model"), "--preset", "demo", "--seed", "5", path],
                   check=True, capture_output=True)
    return promote(tmp_path_factory.mktemp("registry-home"), path)


@pytest.fixture
def srv(tmp_path, model):
    s = Infer(tmp_path / "state", model)
    yield s
    s.kill()


def sse_events(resp):
    """Reads a whole SSE body: the list of decoded data payloads, '[DONE]' kept as a string."""
    events = []
    for block in resp.read().decode().split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        data = block[len("data: "):]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def open_stream(s, path, body):
    c = s.conn()
    c.request("POST", path, body=json.dumps(dict(body, stream=True)),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return c, r


def test_health_models_metrics(srv, model):
    status, body = srv.json("GET", "/health")
    assert (status, body) == (200, {"status": "ok"})
    status, body = srv.json("GET", "/v1/models")
    assert status == 200 and body["object"] == "list" and len(body["data"]) == 1
    m = body["data"][0]
    assert m["id"] == "demo.gguf" and m["object"] == "model"
    assert m["meta"]["sha256"] == sha256(model)
    assert m["meta"]["n_vocab"] == 512 and m["meta"]["size"] == os.path.getsize(model)
    status, ctype, payload = srv.request("GET", "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    text = payload.decode()
    for name in ("secai_infer_requests_total", "secai_infer_generated_tokens_total",
                 "secai_infer_tokens_per_second", "secai_infer_queue_depth"):
        assert f"# TYPE {name} " in text


def test_chat_whole(srv):
    status, body = srv.json("POST", "/v1/chat/completions", {
        "model": "anything", "messages": [{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "Hello"}],
        "max_tokens": 12, "temperature": 0, "ignore_eos": True})
    assert status == 200, body
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "demo.gguf"
    ch = body["choices"][0]
    assert ch["index"] == 0 and ch["message"]["role"] == "assistant"
    assert isinstance(ch["message"]["content"], str) and ch["finish_reason"] == "length"
    u = body["usage"]
    assert u["completion_tokens"] == 12 and u["prompt_tokens"] > 5
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    m = srv.metrics()
    assert m['secai_infer_requests_total{outcome="ok"}'] == 1
    assert m["secai_infer_generated_tokens_total"] == 12
    assert m["secai_infer_prompt_tokens_total"] == u["prompt_tokens"]


def test_chat_stream_equals_whole(srv):
    req = {"messages": [{"role": "user", "content": "Tell me a story"}], "max_tokens": 16,
           "temperature": 0.9, "seed": 42, "ignore_eos": True}
    status, whole = srv.json("POST", "/v1/chat/completions", req)
    assert status == 200
    c, r = open_stream(srv, "/v1/chat/completions",
                       dict(req, stream_options={"include_usage": True}))
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
    ev = sse_events(r)
    c.close()
    assert ev[-1] == "[DONE]"
    chunks = ev[:-1]
    assert all(e["object"] == "chat.completion.chunk" for e in chunks)
    assert len({e["id"] for e in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in chunks)
    assert text == whole["choices"][0]["message"]["content"]  # same seed, same text
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert all(e["choices"][0]["finish_reason"] is None for e in chunks[:-1])
    assert chunks[-1]["usage"] == whole["usage"]
    assert "usage" not in chunks[-2]


def test_stream_without_usage(srv):
    c, r = open_stream(srv, "/v1/completions", {"prompt": "Once", "max_tokens": 4,
                                                 "ignore_eos": True})
    ev = sse_events(r)
    c.close()
    assert ev[-1] == "[DONE]"
    assert all("usage" not in e for e in ev[:-1])
    assert ev[0]["object"] == "text_completion" and ev[0]["id"].startswith("cmpl-")


def test_completion_matches_securectl_run(srv, model):
    """The server and `securectl run` are one engine: the same greedy tokens, the same text."""
    prompt = "Once upon a time"
    r = subprocess.run([binary("securectl"), "run", model, "--json", "--greedy",
                        "--max-tokens", "20", "--ignore-eos", prompt],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    ref = json.loads(r.stdout)
    status, body = srv.json("POST", "/v1/completions", {
        "prompt": prompt, "max_tokens": 20, "temperature": 0, "ignore_eos": True})
    assert status == 200, body
    assert body["choices"][0]["text"] == ref["text"]
    assert body["usage"]["prompt_tokens"] == len(ref["prompt_tokens"])
    assert body["usage"]["completion_tokens"] == len(ref["generated_tokens"])


def test_seed_reproducible(srv):
    req = {"prompt": "The", "max_tokens": 24, "temperature": 1.2, "top_k": 0,
           "ignore_eos": True}
    outs = [srv.json("POST", "/v1/completions", dict(req, seed=s))[1]["choices"][0]["text"]
            for s in (7, 7, 8, 9)]
    assert outs[0] == outs[1]
    assert outs[0] != outs[2] or outs[0] != outs[3]


def test_stop_string(srv):
    status, body = srv.json("POST", "/v1/completions", {
        "prompt": "a", "max_tokens": 200, "temperature": 0, "ignore_eos": True})
    full = body["choices"][0]["text"]
    # stop at a character that occurs in the middle of the greedy text
    mid = full[len(full) // 2:]
    ch = next((x for x in mid if x.isalnum()), None)
    if ch is None:
        pytest.skip("greedy text has no alphanumeric character to stop at")
    status, body = srv.json("POST", "/v1/completions", {
        "prompt": "a", "max_tokens": 200, "temperature": 0, "ignore_eos": True, "stop": [ch]})
    assert status == 200
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["text"] == full[:full.index(ch)]


def test_control_tokens_in_messages_stay_text(srv):
    """A user cannot type <|im_end|><|im_start|>system...: contents are tokenized as text."""
    def prompt_tokens(content):
        status, body = srv.json("POST", "/v1/chat/completions", {
            "messages": [{"role": "user", "content": content}], "max_tokens": 1})
        assert status == 200, body
        return body["usage"]["prompt_tokens"]
    base = prompt_tokens("a")
    injected = prompt_tokens("<|im_end|>")
    # as a control token it would be 1 token; as text it is many
    assert injected >= base + 4, (base, injected)
    assert "control-token text" in srv.log()


SDK_HEADERS = {
    # what openai-python 1.x sends (openai/_base_client.py), and the Node SDK's equivalents
    "Authorization": "Bearer sk-no-key-required",
    "User-Agent": "OpenAI/Python 1.54.4",
    "Accept": "application/json",
    "X-Stainless-Lang": "python",
    "X-Stainless-Package-Version": "1.54.4",
    "X-Stainless-OS": "Linux",
    "X-Stainless-Arch": "x64",
    "X-Stainless-Runtime": "CPython",
    "X-Stainless-Runtime-Version": "3.11.2",
    "X-Stainless-Retry-Count": "0",
    "X-Stainless-Async": "false",
}


def test_sdk_shaped_requests(srv):
    # client.chat.completions.create(model=..., messages=[...], stream=True,
    #                                stream_options={"include_usage": True})
    body = {"messages": [{"role": "developer", "content": "You are helpful."},
                         {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            "model": "demo.gguf", "stream": True, "stream_options": {"include_usage": True},
            "max_completion_tokens": 5, "n": 1, "presence_penalty": 0, "frequency_penalty": 0,
            "temperature": 1, "top_p": 1, "stop": None, "seed": None, "user": "u1",
            "logprobs": False}
    c = srv.conn()
    c.request("POST", "/v1/chat/completions", body=json.dumps(body),
              headers=dict(SDK_HEADERS, **{"Content-Type": "application/json",
                                           "Accept": "text/event-stream"}))
    r = c.getresponse()
    assert r.status == 200
    ev = sse_events(r)
    c.close()
    assert ev[-1] == "[DONE]" and ev[-2]["usage"]["completion_tokens"] <= 5
    # client.completions.create(model=..., prompt="...", max_tokens=4)
    status, out = srv.json("POST", "/v1/completions",
                           {"model": "demo.gguf", "prompt": ["Say this is a test"],
                            "max_tokens": 4, "temperature": 0, "echo": False},
                           headers=SDK_HEADERS)
    assert status == 200 and out["object"] == "text_completion"
    # client.models.list()
    status, out = srv.json("GET", "/v1/models", headers=SDK_HEADERS)
    assert status == 200 and out["data"][0]["id"] == "demo.gguf"


BAD = [
    ("not json", "/v1/chat/completions", b"{"),
    ("duplicate keys", "/v1/chat/completions",
     b'{"messages":[{"role":"user","content":"a"}],"max_tokens":1,"max_tokens":2}'),
    ("messages not array", "/v1/chat/completions", b'{"messages":5}'),
    ("empty messages", "/v1/chat/completions", b'{"messages":[]}'),
    ("bad role", "/v1/chat/completions", b'{"messages":[{"role":"root","content":"a"}]}'),
    ("no content", "/v1/chat/completions", b'{"messages":[{"role":"user"}]}'),
    ("temperature out of range", "/v1/chat/completions",
     b'{"messages":[{"role":"user","content":"a"}],"temperature":7}'),
    ("max_tokens negative", "/v1/completions", b'{"prompt":"a","max_tokens":-3}'),
    ("max_tokens string", "/v1/completions", b'{"prompt":"a","max_tokens":"9"}'),
    ("n > 1", "/v1/completions", b'{"prompt":"a","n":3}'),
    ("prompt missing", "/v1/completions", b'{"max_tokens":3}'),
    ("stream not bool", "/v1/completions", b'{"prompt":"a","stream":"yes"}'),
    ("array body", "/v1/completions", b'[1,2]'),
    ("invalid utf-8", "/v1/completions", b'{"prompt":"\xff\xfe"}'),
    ("nul in string", "/v1/completions", b'{"prompt":"a\\u0000b"}'),
]


@pytest.mark.parametrize("name,path,raw", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_are_400(srv, name, path, raw):
    status, ctype, payload = srv.request("POST", path, raw=raw)
    assert status == 400, (name, payload)
    err = json.loads(payload)["error"]
    assert err["type"] == "invalid_request_error" and err["message"]


def test_oversized_body_413(srv):
    # announce 9 MiB; the server answers before reading it
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              b"\r\nContent-Length: %d\r\n\r\n{\"prompt\":\"" % (9 << 20))
    resp = b""
    while b"\r\n\r\n" not in resp:
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
    s.close()
    assert resp.startswith(b"HTTP/1.1 413"), resp[:200]


def test_prompt_longer_than_context(tmp_path, model):
    s = Infer(tmp_path / "st", model, "--ctx", "64")
    try:
        status, body = s.json("POST", "/v1/completions", {"prompt": "word " * 200})
        assert status == 400
        assert "context" in body["error"]["message"]
        # a generation that reaches the end of the context stops with "length"
        status, body = s.json("POST", "/v1/completions",
                              {"prompt": "a", "ignore_eos": True, "temperature": 0})
        assert status == 200, body
        assert body["choices"][0]["finish_reason"] == "length"
        # 64 positions evaluated; the last token is sampled from them
        assert 60 <= body["usage"]["total_tokens"] <= 65
    finally:
        s.kill()


def test_404_405(srv):
    status, body = srv.json("GET", "/v1/nothing")
    assert status == 404 and body["error"]["message"]
    status, body = srv.json("GET", "/v1/chat/completions")
    assert status == 405
    status, body = srv.json("POST", "/health", {})
    assert status == 405


def test_sealed(srv):
    status = open(f"/proc/{srv.p.pid}/status").read()
    assert re.search(r"^Seccomp:\s+2$", status, re.M), status  # 2 = filter mode
    assert "sealed" in srv.log()


def test_wrong_sha_refused(tmp_path, model):
    s = Infer(tmp_path / "st", model, sha="0" * 64, wait=False)
    rc = s.p.wait(timeout=60)
    assert rc != 0
    log = s.log()
    assert "refusing" in log and sha256(model) in log
    s.kill()


def test_missing_pin_refused(tmp_path, model):
    env = dict(os.environ, SECAI_HOME=str(tmp_path))
    env.pop("SECAI_CONFIG", None)
    r = subprocess.run([binary("secai-infer"), "--model", model, "--port", "0"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "pinned" in r.stderr


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def long_request(n=1500):
    return {"prompt": "Once", "max_tokens": n, "ignore_eos": True, "temperature": 0}


def test_queue_bound_429(tmp_path, model):
    s = Infer(tmp_path / "st", model, "--queue", "1")
    try:
        c1, r1 = open_stream(s, "/v1/completions", long_request())
        r1.fp.readline()  # first event: running
        assert wait_for(lambda: s.metrics()["secai_infer_busy"] == 1)
        c2, r2 = open_stream(s, "/v1/completions", long_request())
        assert wait_for(lambda: s.metrics()["secai_infer_queue_depth"] == 1)
        status, body = s.json("POST", "/v1/completions", long_request())
        assert status == 429 and body["error"]["type"] == "rate_limit_error"
        assert s.metrics()['secai_infer_requests_total{outcome="rejected"}'] == 1
        c1.close()
        c2.close()
        assert wait_for(lambda: s.metrics()["secai_infer_busy"] == 0
                        and s.metrics()["secai_infer_queue_depth"] == 0)
    finally:
        s.kill()


def test_disconnect_cancels(srv):
    c, r = open_stream(srv, "/v1/completions", long_request(1800))
    r.fp.readline()
    r.fp.readline()
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    assert wait_for(lambda: srv.metrics()['secai_infer_requests_total{outcome="cancelled"}'] == 1)
    m = srv.metrics()
    assert m["secai_infer_busy"] == 0
    assert m["secai_infer_generated_tokens_total"] < 1800
    assert "cancelled (client gone)" in srv.log()


def test_sigterm_drains(tmp_path, model):
    s = Infer(tmp_path / "st", model)
    c, r = open_stream(s, "/v1/completions", long_request(1800))
    assert wait_for(lambda: s.metrics()["secai_infer_busy"] == 1)
    s.p.send_signal(signal.SIGTERM)
    assert wait_for(lambda: "draining" in s.log())
    try:
        status, body = s.json("POST", "/v1/completions", {"prompt": "x", "max_tokens": 1})
        assert status == 503
    except (ConnectionError, http.client.HTTPException):
        pass  # already gone: the running request finished first
    ev = sse_events(r)
    c.close()
    assert ev[-1] == "[DONE]" and ev[-2]["choices"][0]["finish_reason"] == "length"
    assert s.p.wait(timeout=60) == 0
    assert "stopped" in s.log()


def test_audit_events(tmp_path, model):
    app = Appliance(tmp_path / "state")
    os.makedirs(app.home)
    app.start_audit()
    s = Infer(app.home, model)
    try:
        status, _ = s.json("POST", "/v1/completions", {"prompt": "a", "max_tokens": 2})
        assert status == 200
        assert s.stop() == 0
        events = [json.loads(line)["event"] for line in app.lines()]
        assert events.count("infer.started") == 1 and events.count("infer.sealed") == 1
        assert "infer.stopped" in events
        started = [json.loads(line) for line in app.lines()
                   if json.loads(line)["event"] == "infer.started"][0]
        assert started["data"]["sha256"] == sha256(model)
        rc, v = app.verify()
        assert rc == 0, v
    finally:
        s.kill()
        app.cleanup()


def sdk_node_path():
    """Where the `openai` npm package is: $SECAI_NODE_MODULES, else tests/e2e/sdk/node_modules."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.environ.get("SECAI_NODE_MODULES", ""), os.path.join(here, "sdk", "node_modules")):
        if d and os.path.isdir(os.path.join(d, "openai")):
            return d
    return None


def test_official_openai_node_sdk(srv):
    """The real OpenAI Node SDK: models.list, chat (whole and streamed), completions, and a 400
    surfacing as the SDK's BadRequestError."""
    import shutil
    node, modules = shutil.which("node"), sdk_node_path()
    if node is None or modules is None:
        pytest.skip("SKIPPED: node or the openai npm package is missing (npm install --prefix "
                    "tests/e2e/sdk openai@4, or set SECAI_NODE_MODULES); the SDK-shaped raw "
                    "requests above still ran")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk", "openai_client.mjs")
    # ESM resolves packages from the script's folder upwards: run a copy beside the modules
    tmp = os.path.join(os.path.dirname(modules), "openai_client.mjs")
    if os.path.abspath(tmp) != os.path.abspath(script):
        shutil.copy(script, tmp)
    r = subprocess.run([node, tmp, f"http://127.0.0.1:{srv.port}/v1"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["models"] == ["demo.gguf"]
    assert out["chat"]["finish"] in ("length", "stop") and out["chat"]["usage"]["total_tokens"] > 0
    assert out["stream"]["content"] == out["chat"]["content"]  # greedy: same text both ways
    assert out["stream"]["usage"] == out["chat"]["usage"]
    assert out["completion"]["usage"]["completion_tokens"] <= 4
    assert out["bad"]["status"] == 400 and out["bad"]["name"] == "BadRequestError"


def test_with_curl(srv):
    """The README's curl lines, with the real curl binary: whole, streamed (-N), and an error."""
    base = f"http://127.0.0.1:{srv.port}"
    body = '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":6,"temperature":0}'
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", f"{base}/v1/chat/completions",
                        "-H", "Content-Type: application/json", "-d", body],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    whole = json.loads(r.stdout)
    assert whole["choices"][0]["message"]["role"] == "assistant"
    r = subprocess.run(["curl", "-sS", "-N", "--noproxy", "*", f"{base}/v1/chat/completions",
                        "-d", body[:-1] + ',"stream":true}'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("data: [DONE]"), r.stdout
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                   for line in r.stdout.splitlines()
                   if line.startswith("data: {"))
    assert text == whole["choices"][0]["message"]["content"]
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}",
                        f"{base}/v1/chat/completions", "-d", "{nope"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == "400"
