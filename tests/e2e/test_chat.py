"""`securectl chat` end to end: against a running secai-infer (streamed replies, history,
/reset, /system, tokens/s lines) and in-process when none answers; model output reaches the
terminal with control characters escaped."""
import os
import re
import subprocess

import pytest

from conftest import Infer, binary, promote


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("models") / "demo.gguf")
    subprocess.run([binary("tools/gen_model"), "--preset", "demo", "--seed", "9", path],
                   check=True, capture_output=True)
    return promote(tmp_path_factory.mktemp("registry-home"), path)  # what secai-infer serves


SCRIPT = "Hello\n/reset\n/system Answer briefly.\nHow are you?\nAnd then?\n/nonsense\n/quit\n"


def chat(home, *args, input=SCRIPT.encode()):
    env = dict(os.environ, SECAI_HOME=str(home))
    env.pop("SECAI_CONFIG", None)
    return subprocess.run([binary("securectl"), "chat", *args], env=env, input=input,
                          capture_output=True, timeout=300)


def check_session(r):
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert err.count("tokens/s]") == 3, err
    assert "(conversation reset)" in err and "(system message set; conversation reset)" in err
    assert "unknown command /nonsense" in err
    out = r.stdout
    # no raw control characters from the model reach the terminal (escaped as \xNN)
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", out), out
    return err


def test_chat_with_server(tmp_path, model):
    s = Infer(tmp_path / "st", model)
    try:
        r = chat(tmp_path / "st", "--url", f"http://127.0.0.1:{s.port}", "--max-tokens", "40")
        err = check_session(r)
        assert f"http://127.0.0.1:{s.port}/v1/chat/completions" in err
        m = s.metrics()
        assert m['secai_infer_requests_total{outcome="ok"}'] == 3
        # the third request carried the history: the system message, question, reply, question
        assert m["secai_infer_prompt_tokens_total"] > 0
    finally:
        s.kill()


def test_chat_in_process_when_no_server(tmp_path, model):
    r = chat(tmp_path, model, "--url", "http://127.0.0.1:1", "--max-tokens", "40")
    err = check_session(r)
    assert "in this process" in err and "in-process" in err


def test_chat_no_server_no_model(tmp_path):
    r = chat(tmp_path, "--url", "http://127.0.0.1:1", input=b"hi\n")
    assert r.returncode == 1
    assert b"no secai-infer answers" in r.stderr


def test_chat_usage(tmp_path):
    r = chat(tmp_path, "--temp", "9", input=b"")
    assert r.returncode == 64
    r = chat(tmp_path, "--help", input=b"")
    assert r.returncode == 0 and b"/system TEXT" in r.stdout
