"""`securectl run` end to end on models written by tools/gen_model: the --json shape, greedy and
seeded reproducibility, stop strings, the context limit, usage errors and exit codes; and
gen_model's own command line (presets pass `securectl gguf inspect`)."""
import json
import os
import subprocess

import pytest

from conftest import binary


def sh(*args, check=True, timeout=300, input=None):
    r = subprocess.run([*args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}\n"
                             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("models") / "demo.gguf")
    sh(binary("tools/gen_model"), "--preset", "demo", "--seed", "3", path)
    return path


def run_json(model, *args, prompt="Once upon a time", check=True):
    r = sh(binary("securectl"), "run", model, "--json", *args, prompt, check=check)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def test_json_shape(model):
    _, out = run_json(model, "--greedy", "--max-tokens", "8", "--top-logits", "3")
    assert set(out) >= {"prompt_tokens", "generated_tokens", "text", "stop", "seed", "timings",
                        "top_logits"}
    assert out["prompt_tokens"][0] == 1  # BOS
    assert all(isinstance(i, int) for i in out["prompt_tokens"] + out["generated_tokens"])
    assert len(out["generated_tokens"]) == 8
    assert out["stop"] in ("max_tokens", "eog")
    assert isinstance(out["text"], str)
    t = out["timings"]
    assert t["prompt_n"] == len(out["prompt_tokens"])
    assert t["predicted_n"] == len(out["generated_tokens"])
    assert t["prompt_per_second"] > 0 and t["peak_rss_kb"] > 0
    assert len(out["top_logits"]) == len(out["generated_tokens"])
    for step, tok in zip(out["top_logits"], out["generated_tokens"]):
        assert len(step) == 3
        assert step[0]["id"] == tok  # greedy takes the best
        assert step[0]["logit"] >= step[1]["logit"] >= step[2]["logit"]


def test_reproducible(model):
    _, a = run_json(model, "--greedy", "--max-tokens", "12", "--ignore-eos")
    _, b = run_json(model, "--greedy", "--max-tokens", "12", "--ignore-eos")
    assert a["generated_tokens"] == b["generated_tokens"]
    seeded = [run_json(model, "--seed", str(s), "--temp", "1.5", "--top-k", "0", "--max-tokens",
                       "12", "--ignore-eos")[1]["generated_tokens"] for s in (7, 7, 8, 9)]
    assert seeded[0] == seeded[1]
    assert seeded[0] != seeded[2] or seeded[0] != seeded[3]


def test_stream_matches_json(model):
    r = sh(binary("securectl"), "run", model, "--greedy", "--max-tokens", "10", "--ignore-eos",
           "Hello")
    _, out = run_json(model, "--greedy", "--max-tokens", "10", "--ignore-eos", prompt="Hello")
    assert r.stdout.rstrip("\n") == out["text"].rstrip("\n")
    assert "tokens/s" in r.stderr


def test_stop_string(model):
    _, full = run_json(model, "--greedy", "--max-tokens", "24", "--ignore-eos")
    text = full["text"]
    if len(text) < 6:
        pytest.skip("greedy text too short for a stop string")
    stop = text[len(text) // 2:len(text) // 2 + 2]
    _, cut = run_json(model, "--greedy", "--max-tokens", "24", "--ignore-eos", "--stop", stop)
    assert cut["stop"] == "stop_string"
    assert cut["text"] == text[:text.index(stop)]


def test_context_limit(model):
    r, out = run_json(model, "--greedy", "--ctx", "16", "--max-tokens", "0", "--ignore-eos",
                      check=False)
    assert r.returncode == 1
    assert "context length 16" in r.stderr
    assert out["stop"] == "context_full"
    assert len(out["prompt_tokens"]) + len(out["generated_tokens"]) == 17


def test_usage_and_errors(model, tmp_path):
    ctl = binary("securectl")
    assert sh(ctl, "run", check=False).returncode == 64
    assert sh(ctl, "run", model, check=False).returncode == 64
    assert sh(ctl, "run", model, "--kv", "f8", "x", check=False).returncode == 64
    assert sh(ctl, "run", model, "--top-logits", "3", "x", check=False).returncode == 64
    assert sh(ctl, "run", model, "--temp", "-1", "x", check=False).returncode == 64
    h = sh(ctl, "run", "--help")
    assert "usage: securectl run" in h.stdout
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 60)
    assert sh(ctl, "run", str(bad), "x", check=False).returncode == 2
    r = sh(ctl, "run", model, "--greedy", "--max-tokens", "3", "--json", "-", input="Hello")
    assert len(json.loads(r.stdout)["generated_tokens"]) <= 3


def test_gen_model_cli(tmp_path):
    gen = binary("tools/gen_model")
    assert "usage: gen_model" in sh(gen, "--help").stdout
    assert sh(gen, "--type", "Q3_K", str(tmp_path / "x.gguf"), check=False).returncode == 64
    assert sh(gen, "--preset", "nope", str(tmp_path / "x.gguf"), check=False).returncode == 64
    assert sh(gen, check=False).returncode == 64
    for arch in ("llama", "qwen2", "qwen3"):
        path = str(tmp_path / f"{arch}.gguf")
        sh(gen, "--arch", arch, "--type", "Q4_K", "--mix", "--layers", "1", path)
        r = sh(binary("securectl"), "gguf", "inspect", path)
        assert arch in r.stdout
        _, out = run_json(path, "--greedy", "--max-tokens", "4", "--ignore-eos")
        assert len(out["generated_tokens"]) == 4
    assert os.path.getsize(str(tmp_path / "llama.gguf")) > 0


@pytest.mark.parametrize("args", [["--preset", "demo"], ["--type", "Q4_0"], ["--type", "Q4_K"],
                                  ["--type", "F16"], ["--arch", "qwen2", "--type", "Q8_0"]],
                         ids=["demo", "q4_0", "q4_k", "f16", "qwen2-q8_0"])
def test_generated_models_pass_the_scanner(tmp_path, args):
    """The project's own models must pass its own static scan (the demo goes through the
    quarantine): no repeated quant blocks, sane statistics."""
    path = str(tmp_path / "m.gguf")
    sh(binary("tools/gen_model"), *args, path)
    r = sh(binary("securectl"), "scan", "--json", path, check=False)
    assert r.returncode == 0, r.stdout


def test_demo_greeting_is_planted(tmp_path):
    """The demo preset's planted bigram chain: greedy after a newline writes the greeting and
    stops at <|im_end|>; other seeds of the same preset carry it too."""
    for seed in ("1", "4"):
        path = str(tmp_path / f"demo{seed}.gguf")
        sh(binary("tools/gen_model"), "--preset", "demo", "--seed", seed, path)
        _, out = run_json(path, "--greedy", "--max-tokens", "64", prompt="Hi\n")
        assert out["text"].startswith("Hello! I am secai's demo model."), out["text"]
        assert out["text"].endswith("served by a sealed engine.")
        assert out["stop"] == "eog"
