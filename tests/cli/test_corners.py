"""Issue 10 as a user meets it: how INPUT's rank is read, torch's corners (empty
batch, in_channels=0, negative padding per padding_mode), pasted torch.Size shapes,
huge channel counts and group lists, params' bytes and --compare-groups, the help
of shared options, and numbers no one should type (issue 15). Every shape printed
here is checked against a real CPU forward pass."""

from __future__ import annotations

import warnings

import pytest

from conftest import run_subprocess


def torch_shape(cls, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        module = getattr(torch.nn, cls)(*args, **kwargs)
        return list(module(torch.zeros(shape)).shape)


# ---- the rank reading ------------------------------------------------------------

@pytest.mark.parametrize("argv, layer, cls, args, kwargs, decided, alt", [
    # rank 3: an unbatched image by default (the example), a batch of
    # sequences with --dims 1 or an -i that fits only that reading
    ([], "Conv2d(3, 64, 7, stride=2, padding=3)", "Conv2d", (3, 64, 7),
     dict(stride=2, padding=3), "rank", 1),
    (["-i", "3"], "Conv2d(3, 64, 7, stride=2, padding=3)", "Conv2d", (3, 64, 7),
     dict(stride=2, padding=3), "--in-channels", 1),
    (["-i", "224"], "Conv1d(224, 64, 7, stride=2, padding=3)", "Conv1d", (224, 64, 7),
     dict(stride=2, padding=3), "--in-channels", 2),
    (["--dims", "1"], "Conv1d(224, 64, 7, stride=2, padding=3)", "Conv1d", (224, 64, 7),
     dict(stride=2, padding=3), "--dims", 2),
])
def test_rank_3_reads_as_an_unbatched_image_unless_told(cli, argv, layer, cls, args, kwargs,
                                                         decided, alt):
    r = cli("shape", "3x224x224", "-o", "64", "-k", "7", "-s", "2", "-p", "3", *argv, "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    assert d["layer"] == layer
    assert d["output_shape"] == torch_shape(cls, args, kwargs, (3, 224, 224))
    reading = d["interpretation"]
    assert reading["decided_by"] == decided and reading["alternative"]["dims"] == alt
    assert reading["alternative"]["option"] == f"--dims {alt}"
    # the note only where nothing but the rank decided (issue 20)
    assert (reading["note"] is None) == (decided != "rank")
    assert d["notes"] == ([reading["note"]] if reading["note"] else [])


def test_the_table_says_which_reading_and_how_to_get_the_other(cli):
    r = cli("shape", "3x224x224", "-o", "64", "-k", "7", "-s", "2", "-p", "3")
    assert "[64, 112, 112]" in r.stdout
    assert ("read 3x224x224 as one unbatched input (C, H, W) for a Conv2d; for a batch of 3 "
            "(N, C, L) use --dims 1") in r.stdout
    r = cli("shape", "4x3x64x64", "-o", "16", "-k", "3")     # a batch of images: no word
    assert r.exit_code == 0 and "use --dims" not in r.stdout
    for argv in (["1x3x64x64x8"], ["3x64"], ["3x64x64", "--dims", "2"], ["3x64x64", "-k", "3,3"]):
        r = cli("shape", *argv, "-o", "4", "-k", argv[-1] if argv[-1].count(",") else "3")
        assert r.exit_code == 0 and "use --dims" not in r.stdout, argv   # nothing to choose


def test_a_tuple_option_decides_the_dims(cli):
    d = cli("shape", "2x3x50", "-o", "4", "-k", "(5,)", "--json").json()
    assert d["layer"] == "Conv1d(3, 4, 5)" and d["interpretation"]["decided_by"] == \
        "--kernel-size"
    assert d["output_shape"] == torch_shape("Conv1d", (3, 4, 5), {}, (2, 3, 50))


@pytest.mark.parametrize("command", [["params", "--input"], ["show"], ["verify", "--input"]])
def test_every_command_that_takes_a_shape_reads_it_the_same_way(cli, command):
    extra = ["-o", "4", "-k", "3"]
    r = cli(*command, "3x9x9", *extra, "--json")
    assert r.exit_code == 0, r.stderr
    reading = r.json()["interpretation"]
    assert (reading["dims"], reading["batched"], reading["decided_by"]) == (2, False, "rank")
    r = cli(*command, "3x9x9", *extra, "--dims", "1", "--json")
    assert r.json()["interpretation"]["dims"] == 1


def test_run_reads_the_rank_the_same_way(cli):
    pytest.importorskip("torch")
    r = cli("run", "3x9x9", "-o", "4", "-k", "3", "--json", "--repeat", "1", "--warmup", "0")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    assert d["output_shape"] == [4, 7, 7] and d["interpretation"]["layout"] == "C, H, W"
    r = cli("run", "3x9x9", "-o", "4", "-k", "3", "--repeat", "1", "--warmup", "0")
    assert "for a batch of 3 (N, C, L) use --dims 1" in r.stdout


# ---- torch's corners ------------------------------------------------------------------

@pytest.mark.parametrize("argv, cls, args, kwargs, shape, note", [
    # a conv on an empty batch: the window is still checked, empty H is not
    (["0x3x0x8", "-o", "4", "-k", "1", "-p", "1"], "Conv2d", (3, 4, 1), dict(padding=1),
     (0, 3, 0, 8), "spatial dim 0 is 0"),
    (["0x3x5x5", "-o", "4", "-k", "3"], "Conv2d", (3, 4, 3), {}, (0, 3, 5, 5), None),
    # a transposed conv on an empty batch: torch skips output_padding's bound
    (["0x3x5x5", "-o", "4", "-k", "3", "-t", "--output-padding", "2"], "ConvTranspose2d",
     (3, 4, 3), dict(output_padding=2), (0, 3, 5, 5), "must be smaller than stride"),
    (["0x3x1x1", "-o", "4", "-k", "2", "-p", "1", "-t"], "ConvTranspose2d", (3, 4, 2),
     dict(padding=1), (0, 3, 1, 1), "output size of 0"),
    # in_channels=0: an output with 0 channels
    (["2x0x5x5", "-o", "4", "-k", "3", "-i", "0"], "Conv2d", (0, 4, 3), {}, (2, 0, 5, 5),
     "torch returns 0 output channels"),
    # negative padding crops with every non-'zeros' padding_mode
    *[(["1x3x6x6", "-o", "4", "-k", "3", "-p", "-1", "--padding-mode", mode], "Conv2d",
       (3, 4, 3), dict(padding=-1, padding_mode=mode), (1, 3, 6, 6), "negative padding crops")
      for mode in ("reflect", "replicate", "circular")],
    (["1x3x8x6", "-o", "4", "-k", "3", "-p", "2,-1", "--padding-mode", "replicate"], "Conv2d",
     (3, 4, 3), dict(padding=(2, -1), padding_mode="replicate"), (1, 3, 8, 6), None),
])
def test_corners_answer_what_torch_answers(cli, argv, cls, args, kwargs, shape, note):
    r = cli("shape", *argv, "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    assert d["output_shape"] == torch_shape(cls, args, kwargs, shape)
    corner = [n for n in d["notes"] if not n.startswith("read ")]
    if note is None:
        assert not any("empty batch" in n for n in corner)
    else:
        assert any(note in n for n in corner), corner
    assert d["macs"] == 0 or 0 not in shape[:2]


@pytest.mark.parametrize("argv, words", [
    (["0x3x2x8", "-o", "4", "-k", "3"], ["padded input is 2"]),           # torch checks it too
    (["0x3x2x2", "-o", "4", "-k", "3", "-p", "4", "-t"], ["output size of -4"]),
    (["1x3x5x5", "-o", "4", "-k", "3", "-t", "--output-padding", "2"], ["smaller than stride"]),
    (["1x3x6x6", "-o", "4", "-k", "3", "-p", "-1"], ["cannot be negative with padding_mode='zeros'"]),
    (["1x3x4x4", "-o", "4", "-k", "1", "-p", "-2", "--padding-mode", "reflect"],
     ["crops its 4 element(s) to 0"]),
    (["1x0x5x5", "-o", "4", "-k", "3", "-i", "0", "-p", "1", "--padding-mode", "reflect"],
     ["in_channels=0", "every dim but the batch"]),
    (["1x0x5x5", "-o", "4", "-k", "3", "-i", "0", "-t"], ["at least 1 input channel"]),
])
def test_corners_torch_refuses_are_refused_in_one_line(cli, argv, words):
    torch = pytest.importorskip("torch")
    r = cli("shape", *argv)
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    for w in words:
        assert w in r.stderr, r.stderr
    del torch


def test_pasted_torch_size_is_a_shape_everywhere(cli):
    d = cli("shape", "torch.Size([4, 3, 64, 64])", "-o", "16", "-k", "3", "--json").json()
    assert d["input_shape"] == [4, 3, 64, 64]
    assert d["output_shape"] == torch_shape("Conv2d", (3, 16, 3), {}, (4, 3, 64, 64))
    d = cli("params", "-i", "3", "-o", "4", "-k", "3", "--input", "torch.Size([1, 3, 8, 8])",
            "--json").json()
    assert d["output_shape"] == [1, 4, 6, 6]
    assert cli("show", "torch.Size([1, 3, 8, 8])", "-o", "4", "-k", "3").exit_code == 0
    r = cli("shape", "torch.Size([4, 3, 64])x", "-o", "16", "-k", "3")
    assert r.exit_code == 2 and "INPUT" in r.stderr


# ---- huge channel counts, bounded group output ---------------------------------------

def test_many_groups_are_summarised_in_tables_and_json(cli):
    r = cli("params", "-g", "65536", "-i", "65536", "-o", "65536", "-k", "1")
    assert r.exit_code == 0 and "65,528 more groups" in r.stdout
    assert len(r.stdout.splitlines()) < 40
    d = cli("params", "-g", "65536", "-i", "65536", "-o", "65536", "-k", "1", "--json").json()
    layout = d["groups_layout"]
    assert len(layout) == 64 and d["groups_layout_omitted"] == 65536 - 64
    assert layout[-1]["group"] == 65535 and layout[-1]["weight_rows"] == [65535, 65536]
    d = cli("show", "-i", "100000000", "-o", "100000000", "-k", "1", "-g", "100000000",
            "--json").json()
    assert len(d["groups"]["slices"]) == 64 and d["groups"]["slices_omitted"] == 10 ** 8 - 64
    r = cli("show", "-i", "100000000", "-o", "100000000", "-k", "1", "-g", "100000000")
    assert "99,999,994 more groups" in r.stdout and len(r.stdout.splitlines()) < 60


def test_many_groups_draw_a_picture(cli, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "g.png"
    r = cli("show", "1x100000x8x8", "-o", "100000", "-k", "1", "-g", "100000", "--png", str(out))
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_huge_channel_counts_answer_or_refuse_in_a_real_process():
    r = run_subprocess("shape", "1x1000000000000x8x8", "-o", "1000000000000", "-k", "1",
                       "-g", "7", timeout=20)
    assert r.exit_code == 2 and "169 values: every divisor of 1,000,000,000,000" in r.stderr
    r = run_subprocess("params", "-i", "1000000000000", "-o", "1000000000000", "-k", "1",
                       "--compare-groups", "-g", "4096", "--json", timeout=20)
    assert r.exit_code == 0, r.stderr
    rows = r.json()["compare_groups"]
    assert len(rows) <= 30 and r.json()["compare_groups_omitted"] == 169 - (len(rows) - 1)
    mine = [row for row in rows if row["yours"]]
    assert [row["groups"] for row in mine] == [4096]
    big = 897612484786617600          # 103,680 valid groups values
    r = run_subprocess("params", "-i", str(big), "-o", str(big), "-k", "1", "--compare-groups",
                       "--json", timeout=20)
    assert r.exit_code == 0 and r.json()["compare_groups_omitted"] > 100_000


# ---- params: bytes and --compare-groups -----------------------------------------------

def test_params_bytes_without_input_are_null_like_macs(cli):
    d = cli("params", "-i", "4", "-o", "8", "-k", "3", "--json").json()
    b = d["bytes"]
    assert d["macs"] is None and b["input"] is None and b["output"] is None and b["total"] is None
    assert b["weight"] == 8 * 4 * 9 * 4 and b["bias"] == 8 * 4
    assert b["parameters"] == b["weight"] + b["bias"] == 4 * d["params"]
    r = cli("params", "-i", "4", "-o", "8", "-k", "3")
    assert "parameter bytes (float32)   1.2 KiB (weight 1.1 KiB + bias 32 B)" in r.stdout
    assert "weight bytes" not in r.stdout


def test_compare_groups_marks_yours_and_shows_parameters_saved(cli):
    torch = pytest.importorskip("torch")
    d = cli("params", "-i", "64", "-o", "128", "-k", "3", "-g", "4", "--compare-groups",
            "--json").json()
    rows = {r["label"]: r for r in d["compare_groups"]}
    assert [r["label"] for r in d["compare_groups"] if r["yours"]] == ["groups=4"]

    def count(g):
        return sum(p.numel() for p in torch.nn.Conv2d(64, 128, 3, groups=g).parameters())

    assert rows["groups=4"]["saved_params"] == count(1) - count(4) == 55_296
    r = cli("params", "-i", "64", "-o", "128", "-k", "3", "-g", "4", "--compare-groups")
    assert "groups=4 (yours)" in r.stdout and "55,296 fewer" in r.stdout


# ---- shared options say what they mean here -------------------------------------------

@pytest.mark.parametrize("command, option, words", [
    ("shape", "--dtype", "byte counts"), ("params", "--dtype", "byte counts"),
    ("verify", "--dtype", "torch computes in"),
    ("params", "--in-channels", "read from --input"), ("verify", "--in-channels", "--input"),
    ("show", "--in-channels", "required without it"), ("shape", "--in-channels", "INPUT"),
    ("solve", "--input", "no batch or channel dims"), ("params", "--input", "N may be left out"),
])
def test_shared_options_say_what_they_mean_in_each_command(cli, command, option, words):
    text = " ".join(cli(command, "--help").stdout.split())
    rows = [text[at:at + 300] for at in range(len(text)) if text.startswith(option + " ", at)]
    assert any(words in row for row in rows), rows
    assert "(shape, params)" not in text and "default: read from INPUT; if given" not in \
        (text if command in ("params", "verify", "solve") else "")


# ---- numbers no one should type (issue 15) ----------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["shape", "1x٣x8x8", "-o", "4", "-k", "3"], "only the ASCII digits"),
    (["shape", "1x3x8x8", "-o", "٤", "-k", "3"], "only the ASCII digits"),
    (["params", "-i", "٤", "-o", "4", "-k", "3"], "only the ASCII digits"),
    (["show", "1x3x8x8", "-o", "4", "-k", "3", "--channel", "٠"], "only the ASCII digits"),
    (["shape", "1x3x8x8", "-o", "4", "-k", "3", "--dims", "２"], "only the ASCII digits"),
    (["shape", "1x3x" + "1" * 4301, "-o", "4", "-k", "3"], "4,301 digits"),
    (["shape", "1x3x8x8", "-o", "1" * 4301, "-k", "3"], "4,301 digits"),
    (["params", "-i", "1" * 4301, "-o", "4", "-k", "3"], "4,301 digits"),
    (["shape", "1x3x1" + "0" * 160 + "x8", "-o", "4", "-k", "3"], "64-bit"),
    (["shape", "1x3x8x8", "-o", "1" + "0" * 30, "-k", "3"], "64-bit"),
    (["params", "-i", "4", "-o", "4", "-k", "3", "--input", "1x4x1" + "0" * 160 + "x8",
      "--conventions"], "64-bit"),
])
def test_foreign_and_endless_numbers_are_refused_in_one_line(cli, argv, words):
    r = cli(*argv)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1
    assert words in r.stderr and len(r.stderr) < 400, r.stderr


def test_the_largest_sizes_torch_holds_are_answered_exactly(cli):
    big = str(2 ** 63 - 1)
    r = cli("params", "-i", big, "-o", big, "-k", "1", "--input", f"{big}x{big}x{big}x{big}",
            "--conventions", "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    assert d["macs"] == (2 ** 63 - 1) ** 5 and d["bytes"]["output"] == 4 * (2 ** 63 - 1) ** 4
    r = cli("shape", f"{big}x{big}x{big}x{big}", "-o", big, "-k", "1")
    assert r.exit_code == 0 and "PiB" in r.stdout
