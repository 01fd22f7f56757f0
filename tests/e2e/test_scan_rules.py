"""Every scanner rule not covered by the cmocka fixtures gets a generated fixture here, with the
reason id it must produce: zip damage (no or bad central directory, members outside the file,
encryption, unsupported methods, corrupt deflate, too many members, oversized members), pickle
edge cases (memo expansion, scanner limits, misplaced PROTO, trailing bytes), folder rules
(model_index.json, special files, depth, file count) and I/O errors."""
import io
import json
import os
import struct
import subprocess
import zipfile

import pytest

from conftest import binary

PICKLE = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."


def scan(path, check_rc=None):
    r = subprocess.run([binary("securectl"), "scan", "--json", str(path)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode in (0, 1, 2), r.stderr
    if check_rc is not None:
        assert r.returncode == check_rc, (r.returncode, r.stdout[:2000])
    rep = json.loads(r.stdout)
    return r.returncode, {f["reason"] for f in rep["findings"]}


def make_zip(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=method) as z:
        for name, data in members:
            z.writestr(name, data)
    return bytearray(b.getvalue())


def eocd(data):
    return data.rindex(b"PK\x05\x06")


def cd_start(data):
    return struct.unpack_from("<I", data, eocd(data) + 16)[0]


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(bytes(data))
    return p


def test_zip_without_central_directory(tmp_path):
    z = make_zip([("archive/data.pkl", PICKLE)])
    rc, reasons = scan(write(tmp_path, "m.pt", z[:cd_start(z)]))
    assert rc == 2 and {"gate.zip", "zip.no_central_directory"} <= reasons
    assert "pickle.dangerous_import" in reasons or any(x.startswith("pickle.") for x in reasons)


def test_zip_bad_central_directory(tmp_path):
    z = make_zip([("archive/data.pkl", PICKLE)])
    struct.pack_into("<I", z, eocd(z) + 16, len(z) + 1000)  # CD offset outside the file
    rc, reasons = scan(write(tmp_path, "m.pt", z))
    assert rc == 2 and "zip.bad_central_directory" in reasons


def test_zip_member_outside_file(tmp_path):
    z = make_zip([("archive/data.pkl", PICKLE)])
    struct.pack_into("<I", z, cd_start(z) + 42, len(z) + 5000)  # local header offset
    rc, reasons = scan(write(tmp_path, "m.pt", z))
    assert rc == 2 and "zip.bad_member" in reasons


def test_zip_encrypted_member(tmp_path):
    z = make_zip([("archive/data.pkl", PICKLE)])
    z[6] |= 1  # local header general-purpose flags: encrypted
    z[cd_start(z) + 8] |= 1  # and in the central directory
    rc, reasons = scan(write(tmp_path, "m.pt", z))
    assert rc == 2 and "zip.encrypted" in reasons


def test_zip_unsupported_method(tmp_path):
    z = make_zip([("archive/data.pkl", PICKLE)], method=zipfile.ZIP_BZIP2)
    rc, reasons = scan(write(tmp_path, "m.pt", z))
    assert rc == 2 and "zip.unsupported_method" in reasons


def test_zip_corrupt_deflate(tmp_path):
    z = make_zip([("archive/data.pkl", PICKLE * 50)])
    name_len = struct.unpack_from("<H", z, 26)[0]
    extra_len = struct.unpack_from("<H", z, 28)[0]
    start = 30 + name_len + extra_len
    for i in range(start, start + 12):
        z[i] = 0xFF
    rc, reasons = scan(write(tmp_path, "m.pt", z))
    assert rc == 2 and "zip.inflate_error" in reasons


def test_zip_too_many_members(tmp_path):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=zipfile.ZIP_STORED) as z:
        for i in range(65537):
            z.writestr(f"{i}", b"")
    rc, reasons = scan(write(tmp_path, "m.zip", b.getvalue()))
    assert rc == 2 and "zip.too_many_members" in reasons


def test_zip_member_cut_at_limit(tmp_path):
    # 257 MiB of zeros deflate to ~256 KiB; the scanner inflates 256 MiB and says it stopped
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("big.bin", "w") as f:
            chunk = bytes(1 << 20)
            for _ in range(257):
                f.write(chunk)
    rc, reasons = scan(write(tmp_path, "m.zip", b.getvalue()))
    assert rc == 2 and "gate.member_cut" in reasons


def test_empty_file(tmp_path):
    rc, reasons = scan(write(tmp_path, "model.gguf", b""))
    assert rc == 2 and "gate.empty" in reasons


def test_pickle_memo_expansion(tmp_path):
    body = b"\x80\x02N" + b"q\x00" + b"h\x00" * 20001 + b"."
    rc, reasons = scan(write(tmp_path, "x.pkl", body))
    assert rc == 2 and "pickle.expansion" in reasons


def test_pickle_scanner_limits(tmp_path):
    body = b"\x80\x02" + b"N" * ((1 << 20) + 2) + b"."
    rc, reasons = scan(write(tmp_path, "x.pkl", body))
    assert rc == 2 and "pickle.limits" in reasons


def test_pickle_proto_misplaced(tmp_path):
    rc, reasons = scan(write(tmp_path, "x.pkl", b"\x80\x02N\x80\x02."))
    assert rc == 2 and "pickle.proto_misplaced" in reasons


def test_pickle_trailing_data(tmp_path):
    rc, reasons = scan(write(tmp_path, "x.pkl", b"\x80\x02N." + b"\xff\xfe not a pickle"))
    assert rc == 2 and "pickle.trailing_data" in reasons


def test_folder_model_index_not_object(tmp_path):
    d = tmp_path / "pipe"
    d.mkdir()
    (d / "model_index.json").write_text("[1, 2]")
    rc, reasons = scan(d)
    assert rc == 2 and "folder.model_index" in reasons
    (d / "model_index.json").write_text('{"_class_name": "X", "unet": ["diffusers"]}')
    rc, reasons = scan(d)
    assert rc == 2 and "folder.model_index" in reasons


def test_folder_special_file(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    os.mkfifo(d / "weights.safetensors")
    rc, reasons = scan(d)
    assert rc == 2 and "folder.special_file" in reasons


def test_folder_too_deep(tmp_path):
    d = tmp_path / "m"
    p = d
    for i in range(12):
        p = p / f"d{i}"
    p.mkdir(parents=True)
    (p / "config.json").write_text("{}")
    rc, reasons = scan(d)
    assert rc == 2 and "folder.too_deep" in reasons


def test_folder_too_many_files(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    for i in range(10001):
        (d / f"f{i}.json").write_text("{}")
    rc, reasons = scan(d)
    assert rc == 2 and "folder.too_many_files" in reasons


def test_missing_path_is_an_error(tmp_path):
    rc, reasons = scan(tmp_path / "nothing-here")
    assert rc == 1 and reasons and all(r.endswith(".io") or r.startswith("scan.")
                                       for r in reasons), reasons


# ---- weight statistics rules, on GGUF files written here (an unknown architecture: no shape
# rules, but the reader says so)

def gguf(tensors):
    """A GGUF v3 file: tensors = [(name, ggml_type, (ne0, ne1), raw bytes)], alignment 32."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 2)
    out += s("general.architecture") + struct.pack("<I", 8) + s("fixture")
    out += s("general.name") + struct.pack("<I", 8) + s("fixture")
    off = 0
    for name, t, shape, data in tensors:
        out += s(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d)
                                                               for d in shape)
        out += struct.pack("<IQ", t, off)
        off += (len(data) + 31) // 32 * 32
    out += bytes((-len(out)) % 32)
    for i, (_, _, _, data) in enumerate(tensors):
        out += data
        if i + 1 < len(tensors):
            out += bytes((-len(data)) % 32)
    return out


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


def rand_values(n, seed, fn):
    import random
    r = random.Random(seed)
    return [fn(r) for _ in range(n)]


N = 64 * 64
WSTATS_CASES = {
    "wstats.mean": lambda r: 20.0 + r.gauss(0, 1),
    "wstats.low_variance": lambda r: r.gauss(0, 1e-7),
    "wstats.sparse": lambda r: r.gauss(0, 1) if r.random() < 0.004 else 0.0,
    # 10.5% at +-a, the rest 0: 3 sigma = 0.97 a, so 10.5% lie beyond it (Chebyshev allows 11.1%)
    "wstats.outliers": lambda r: (1.0 if r.random() < 0.5 else -1.0) if r.random() < 0.105
    else 0.0,
    "wstats.low_entropy": lambda r: 1.0 if r.random() < 0.2 else 0.0,
}


@pytest.mark.parametrize("reason", sorted(WSTATS_CASES))
def test_weight_statistics_rule(tmp_path, reason):
    good = f32(rand_values(N, 1, lambda r: r.gauss(0, 0.02)))
    bad = f32(rand_values(N, 2, WSTATS_CASES[reason]))
    p = write(tmp_path, "w.gguf", gguf([("a.weight", 0, (64, 64), good),
                                        ("b.weight", 0, (64, 64), bad)]))
    r = subprocess.run([binary("securectl"), "scan", "--json", str(p)], capture_output=True,
                       text=True, timeout=120)
    findings = json.loads(r.stdout)["findings"]
    hits = [f for f in findings if f["reason"] == reason]
    assert hits and all(f.get("subject") == "b.weight" for f in hits), findings
    assert not any(f.get("subject") == "a.weight" for f in findings), findings


def test_weight_statistics_clean_and_unanalysed(tmp_path):
    good = f32(rand_values(N, 1, lambda r: r.gauss(0, 0.02)))
    ints = struct.pack(f"<{N}i", *range(N))  # I32 (ggml type 26): hashed, not analysed
    p = write(tmp_path, "w.gguf", gguf([("a.weight", 0, (64, 64), good),
                                        ("c.idx", 26, (64, 64), ints)]))
    rc, reasons = scan(p)
    assert rc == 0 and "wstats.unanalysed" in reasons, reasons
