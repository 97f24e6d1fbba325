"""`-` as an input file: run's INPUT, --weight-file and --bias-file (.npy bytes), apply's
INPUT (a .npy, a PNG/JPEG image, or text: a shape, a nested list), diff's BASE/HEAD (a
saved report), net's --file; and run --save - (the .npy to stdout). What comes through
stdin gives torch's numbers exactly as the same file does; empty or bad bytes, too many
bytes, two inputs on one stdin, a terminal and summary's MODEL - are one line and their
exit code (2; a closed stdin 3), never a hang or a traceback."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import ROOT, Result

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")


def piped(data: bytes, *args: str) -> Result:
    """The command in-process with ``data`` on its standard input."""
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    r = runner.invoke(app, list(args), input=data, catch_exceptions=False)
    return Result(r.exit_code, r.stdout_bytes.decode("latin-1"), r.stderr)


def npy_bytes(a) -> bytes:
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


def one_error(r: Result, code: int, *words: str) -> None:
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in r.stderr


@pytest.fixture
def arrays():
    g = np.random.default_rng(0)
    x = g.standard_normal((2, 3, 9, 7)).astype(np.float32)
    w = g.standard_normal((4, 3, 3, 3)).astype(np.float64)
    b = g.standard_normal(4).astype(np.float32)
    return x, w, b


def test_run_reads_input_weight_or_bias_from_stdin_as_torch_computes(tmp_path, arrays):
    x, w, b = arrays
    for name, a in zip("xwb", arrays):
        np.save(tmp_path / f"{name}.npy", a)
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w).float(),
                                      torch.from_numpy(b), stride=2, padding=1).numpy()
    files = {"x": str(tmp_path / "x.npy"), "w": str(tmp_path / "w.npy"),
             "b": str(tmp_path / "b.npy")}
    for dash, data in (("x", x), ("w", w), ("b", b)):
        out = tmp_path / f"out-{dash}.npy"
        given = {**files, dash: "-"}
        r = piped(npy_bytes(data), "run", given["x"], "-o", "4", "-k", "3", "-s", "2", "-p",
                  "1", "--weight-file", given["w"], "--bias-file", given["b"], "--repeat",
                  "1", "--warmup", "0", "--device", "cpu", "--save", str(out), "--json")
        assert r.exit_code == 0, r.stderr
        np.testing.assert_allclose(np.load(out), want, rtol=1e-5, atol=1e-5)
        sources = r.json()["sources"]
        assert {"x": sources["input"], "w": sources["weight"],
                "b": sources["bias"]}[dash].startswith("stdin (")


def test_run_reads_a_fortran_big_endian_npy_from_stdin_as_from_the_file(tmp_path):
    a = np.asfortranarray(np.arange(2 * 3 * 6 * 5, dtype=">f4").reshape(2, 3, 6, 5) / 7)
    np.save(tmp_path / "x.npy", a)
    got = {}
    for source, data in ((str(tmp_path / "x.npy"), b""), ("-", npy_bytes(a))):
        out = tmp_path / f"out{len(got)}.npy"
        r = piped(data, "run", source, "-o", "2", "-k", "3", "--repeat", "1", "--device",
                  "cpu", "--save", str(out))
        assert r.exit_code == 0, r.stderr
        got[source] = np.load(out)
    assert np.array_equal(*got.values())


def test_run_save_dash_writes_the_npy_to_stdout_and_the_report_to_stderr(tmp_path, arrays):
    x = arrays[0]
    r = piped(npy_bytes(x), "run", "-", "-o", "4", "-k", "3", "--repeat", "1", "--device",
              "cpu", "--save", "-", "--json")
    assert r.exit_code == 0, r.stderr
    out = np.load(io.BytesIO(r.stdout.encode("latin-1")))
    assert out.shape == (2, 4, 7, 5) and out.dtype == np.float32
    report = __import__("json").loads(r.stderr)
    assert report["saved"]["path"] == "-" and report["output_shape"] == [2, 4, 7, 5]


def test_save_dash_moves_only_its_own_commands_report_to_stderr(cli, arrays):
    r = piped(npy_bytes(arrays[0]), "run", "-", "-o", "4", "-k", "3", "--repeat", "1",
              "--device", "cpu", "--save", "-", "--json")
    assert r.exit_code == 0 and r.stdout.startswith("\x93NUMPY")
    after = cli("shape", "1x3x8x8", "-o", "4", "-k", "3", "--json")    # the same process
    assert after.json()["output_shape"] == [1, 4, 6, 6]


def test_a_sweep_reads_stdin_once_for_every_row(arrays, tmp_path):
    """Each row loads the weight again: from stdin, the array read by the first row."""
    x, w, _ = arrays
    np.save(tmp_path / "x.npy", x)
    r = piped(npy_bytes(w), "run", str(tmp_path / "x.npy"), "-o", "4", "-k", "3", "--sweep",
              "s=1,2", "--sweep", "p=0,1", "--weight-file", "-", "--repeat", "1",
              "--warmup", "0", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    rows = r.json()["sweep"]
    assert len(rows) == 4 and all(row["error"] is None for row in rows), rows
    assert sorted(tuple(row["output_shape"]) for row in rows) == sorted(
        [(2, 4, 7, 5), (2, 4, 9, 7), (2, 4, 4, 3), (2, 4, 5, 4)])


@pytest.mark.parametrize("data, words", [
    (b"", ("INPUT -: standard input is empty",)),
    (b"4x3x8x8\n", ("not a .npy file",)),
    (b"\x93NUMPY\x01\x00\x76\x00{'descr'", ("header is unreadable",)),
])
def test_run_refuses_empty_or_bad_bytes_on_stdin(data, words):
    one_error(piped(data, "run", "-", "-o", "4", "-k", "3"), 2, *words)


def test_run_refuses_cut_short_and_integer_npy_on_stdin(arrays):
    whole = npy_bytes(arrays[0])
    one_error(piped(whole[:-100], "run", "-", "-o", "4", "-k", "3", "--device", "cpu"), 2,
              "ended after", f"of the {arrays[0].nbytes:,} bytes")
    one_error(piped(npy_bytes(np.ones((1, 3, 4, 4), np.int32)), "run", "-", "-o", "4", "-k",
                    "3"), 2, "int32")


def test_a_header_too_large_for_memory_is_refused_before_its_data_is_read():
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                            "shape": (64, 3, 40000, 40000)})
    r = piped(f.getvalue(), "run", "-", "-o", "4", "-k", "3", "--device", "cpu",
              "--max-memory", "1GiB")
    one_error(r, 3, "TiB", "--max-memory")


def test_two_inputs_cannot_share_stdin(arrays, tmp_path):
    data = npy_bytes(arrays[0])
    one_error(piped(data, "run", "-", "-o", "4", "-k", "3", "--weight-file", "-"), 2,
              "INPUT and --weight-file both read standard input")
    one_error(piped(data, "run", "-", "-o", "4", "-k", "3", "--weight-file", "-",
                    "--bias-file", "-"), 2, "INPUT, --weight-file and --bias-file all")
    one_error(piped(b"{}", "diff", "-", "-"), 2, "BASE and HEAD both")


def _apply_json(data: bytes, source: str, *args: str) -> dict:
    r = piped(data, "apply", source, "-k", "3", "--weight", "laplacian", "--values",
              "--json", *args)
    assert r.exit_code == 0, r.stderr
    d = r.json()
    d["values"] = {k: d[f"{k}_values"] for k in ("input", "weight", "bias", "output")}
    return d


def test_apply_reads_npy_images_and_text_from_stdin_as_from_files(tmp_path):
    from PIL import Image
    g = np.random.default_rng(1)
    Image.fromarray((g.random((9, 8, 3)) * 255).astype(np.uint8)).save(tmp_path / "c.png")
    Image.fromarray((g.random((7, 6)) * 255).astype(np.uint8)).save(tmp_path / "g.jpg")
    np.save(tmp_path / "a.npy", g.standard_normal((1, 2, 6, 5)).astype(np.float32))
    for name in ("c.png", "g.jpg", "a.npy"):
        path = tmp_path / name
        from_file = _apply_json(b"", str(path))
        from_stdin = _apply_json(path.read_bytes(), "-")
        assert from_stdin["values"] == from_file["values"], name
        assert from_stdin["input"]["description"].startswith("stdin (")
    # text: a nested list, and a shape with a pattern, as given on the command line
    literal = "[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [1, 1, 1, 1]]"
    assert _apply_json(literal.encode() + b"\n", "-")["values"] == \
        _apply_json(b"", literal)["values"]
    shaped = _apply_json(b" 1x1x6x6\n", "-", "--pattern", "impulse")
    assert shaped["values"] == _apply_json(b"", "1x1x6x6", "--pattern", "impulse")["values"]
    x = torch.tensor(shaped["values"]["input"])
    w = torch.tensor(shaped["values"]["weight"])
    want = torch.nn.functional.conv2d(x, w, torch.tensor(shaped["values"]["bias"]))
    assert torch.allclose(torch.tensor(shaped["values"]["output"]), want)


@pytest.mark.parametrize("data, code, words", [
    (b"", 2, ("standard input is empty",)),
    (b" \n\t", 2, ("only white space",)),
    (b"\xff\xfe\x00\x01garbage", 2, ("nor UTF-8 text",)),
    (b"weights.npy", 2, ("not a shape or a nested list",)),
    (b"\x89PNG\r\n\x1a\n\x00\x00", 2, ("not a readable PNG or JPEG image",)),
    (b"1" * (1024 ** 2 + 10), 2, ("text of more than 1,048,576 bytes",)),
])
def test_apply_refuses_what_stdin_cannot_be(data, code, words):
    one_error(piped(data, "apply", "-", "-k", "3"), code, *words)


def test_apply_stdin_options_must_fit_what_came(tmp_path, arrays):
    one_error(piped(npy_bytes(arrays[0]), "apply", "-", "-k", "3", "--gray"), 2,
              "--gray is for an image")
    one_error(piped(b"1x1x8x8", "apply", "-", "-k", "3", "--resize", "4x4"), 2,
              "--resize is for an image")


def test_diff_reads_a_report_from_stdin(cli, tmp_path):
    base = cli("net", "1x3x16x16", "Conv2d(3, 8, 3), ReLU()", "--json")
    head = cli("net", "1x3x16x16", "Conv2d(3, 16, 3), ReLU()", "--json")
    (tmp_path / "base.json").write_text(base.stdout)
    r = piped(head.stdout.encode(), "diff", str(tmp_path / "base.json"), "-", "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    assert d["totals"]["params"]["change"] == (16 - 8) * (3 * 9 + 1)
    assert d["head"] == "stdin" and d["base"].endswith("base.json")   # net: no model
    one_error(piped(b"{\"layers\": [", "diff", str(tmp_path / "base.json"), "-"), 2,
              "HEAD - (stdin) is not JSON")


def test_summary_model_dash_says_why_it_needs_a_file():
    one_error(piped(b"import torch\n", "summary", "-", "--input", "1x3"), 2,
              "MODEL -", "save it")


def _on_a_terminal(*args: str) -> subprocess.CompletedProcess:
    parent, child = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    try:
        return subprocess.run([sys.executable, "-m", "convcli", *args], stdin=child,
                              capture_output=True, text=True, env=env, timeout=60)
    finally:
        os.close(child)
        os.close(parent)


@pytest.mark.parametrize("args", [
    ("run", "-", "-o", "4", "-k", "3"),
    ("run", "1x3x8x8", "-o", "4", "-k", "3", "--weight-file", "-"),
    ("apply", "-", "-k", "3"),
    ("net", "1x3x8x8", "--file", "-"),
    ("diff", "-", "x.json"),
])
def test_a_terminal_on_stdin_is_refused_at_once(args):
    p = _on_a_terminal(*args)      # a read would wait for typing: timeout=60 fails it
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "standard input is a terminal; give a file, or pipe one in" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_a_closed_stdin_is_exit_3():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "convcli", "run", "-", "-o", "4", "-k", "3"],
                       capture_output=True, text=True, env=env, timeout=60,
                       preexec_fn=lambda: os.close(0))
    assert p.returncode == 3 and "standard input is closed" in p.stderr, p.stderr
