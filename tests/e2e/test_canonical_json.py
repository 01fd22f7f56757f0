"""The canonical JSON secai hashes must be byte-identical to Python's
json.dumps(v, sort_keys=True, separators=(',', ':')) — that is how SecAI OS hashes its audit
chain. Compares tools/json_canon (the C encoder) with CPython on tricky and random values."""
import json
import math
import random
import subprocess

from conftest import binary

TRICKY = [
    "", "a/b", "\\", '"', "\x00x"[1:], "\x01\x1f\x7f", "\b\f\n\r\t", "café", "€", "😀",
    "\u2028\u2029", "\ufeff", "\U0010ffff", "mixed \"quotes\" and \\ slashes",
    "😀" * 50, "ÿ", "\u0080", "\u07ff", "\u0800", "\uffff", "\ud7ff", "\ue000",
]
FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 0.2 + 0.1, 1e16, 1e15, 9.999999999999999e15, 1e-4, 1e-5,
          123456789.123, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1 / 3,
          2 ** 53, 2 ** 53 + 2.0, 1e22, 1e-7, 123e-20, 4.35, 0.000123456]


def random_value(rng, depth=0):
    k = rng.randrange(8 if depth < 4 else 5)
    if k == 0:
        return rng.choice([None, True, False])
    if k == 1:
        return rng.randrange(-2 ** 63, 2 ** 63)
    if k == 2:
        f = rng.choice([rng.random() * 10 ** rng.randrange(-30, 30), rng.choice(FLOATS),
                        struct_float(rng)])
        return -f if rng.random() < 0.5 else f
    if k in (3, 4):
        return "".join(rng.choice(TRICKY + ["x", "Y", " ", "\u00e9", chr(rng.randrange(0x20, 0xd7ff))])
                       for _ in range(rng.randrange(5)))
    if k == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_value_key(rng): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def random_value_key(rng):
    return "".join(rng.choice(["a", "B", "é", "😀", "_", "\n", "z", "€", "\x7f"])
                   for _ in range(rng.randrange(1, 4)))


def struct_float(rng):
    import struct
    while True:
        f = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(f):
            return f


def run_canon(values):
    # feed non-canonical layouts (ensure_ascii off, spaces) so the encoder really re-encodes
    inp = "".join(json.dumps(v, ensure_ascii=False, indent=None) + "\n" for v in values)
    r = subprocess.run([binary("tools/json_canon")], input=inp.encode(), capture_output=True,
                       timeout=120)
    assert r.returncode == 0
    return r.stdout.decode().splitlines()


def test_tricky_strings_and_floats():
    values = TRICKY + FLOATS + [{s: i for i, s in enumerate(TRICKY)}, {"b": 1, "a": {"d": [], "c": {}}}]
    got = run_canon(values)
    for v, g in zip(values, got):
        assert g == json.dumps(v, sort_keys=True, separators=(",", ":")), repr(v)


def test_random_documents_match_python():
    rng = random.Random(20261122)
    values = [random_value(rng) for _ in range(3000)]
    got = run_canon(values)
    assert len(got) == len(values)
    for v, g in zip(values, got):
        assert g == json.dumps(v, sort_keys=True, separators=(",", ":")), repr(v)


def test_refused_inputs():
    inp = b'{"a":1,"a":2}\n"\\u0000"\n[1,]\nNaN\n'
    r = subprocess.run([binary("tools/json_canon")], input=inp, capture_output=True)
    assert all(x.startswith("ERROR:") for x in r.stdout.decode().splitlines())
