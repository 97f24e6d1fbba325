"""Issue 20's newcomer paths, each answered on the first try (each test failed on the
code before it): one test per path, numbers checked against torch."""

import shlex

import pytest

torch = pytest.importorskip("torch")


def _torch_out(module, shape):
    with torch.no_grad():
        return list(module(torch.zeros(shape)).shape)


def test_headline_example_names_every_missing_option_at_once(cli):
    r = cli("params", "--groups", "4")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == ("Error: params needs -i/--in-channels (or --input), -o/--out-channels "
                        "and -k/--kernel-size, e.g. convcli params -i 64 -o 128 -k 3 "
                        "--groups 4\n")
    example = shlex.split(r.stderr.split("e.g. ", 1)[1])[1:]       # it runs
    d = cli(*example, "--json").json()
    assert d["params"] == sum(p.numel() for p in torch.nn.Conv2d(64, 128, 3, groups=4)
                              .parameters())
    r = cli("params", "-g", "3", "-o", "6")         # the example fits the groups given
    words = shlex.split(r.stderr.split("e.g. ", 1)[1])[1:]
    assert cli(*words).exit_code == 0, r.stderr


@pytest.mark.parametrize("argv, code", [
    (["params", "Conv2d(16, 16, 1, groups=2)"], "Conv2d(16, 16, 1, groups=2)"),
    (["shape", "1x16x8x8", "nn.Conv2d(16, 32, 3, stride=2, padding=1)"],
     "nn.Conv2d(16, 32, 3, stride=2, padding=1)"),
    (["shape", "1x16x8x8",
      "Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"],
     "Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"),
    (["shape", "2x4x9", "torch.nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1, "
                        "bias=False)"],
     "torch.nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1, bias=False)"),
])
def test_torch_syntax_is_understood(cli, argv, code):
    r = cli(*argv, "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    module = eval(code, {"torch": torch, "nn": torch.nn, **vars(torch.nn)})
    assert d["weight_shape"] == list(module.weight.shape)
    assert d["params"] == sum(p.numel() for p in module.parameters())
    if argv[0] == "shape":
        shape = tuple(int(n) for n in argv[1].split("x"))
        assert d["output_shape"] == _torch_out(module, shape)


def test_the_conv_as_code_on_run_verify_show_and_apply(cli):
    assert cli("show", "Conv2d(4, 8, 3, groups=2)").exit_code == 0
    r = cli("apply", "1x1x5x5", "nn.Conv2d(1, 1, 3)", "--json")
    assert r.exit_code == 0 and r.json()["output_shape"] == [1, 1, 3, 3]
    r = cli("run", "1x4x10", "Conv1d(4, 8, 3)", "--repeat", "1", "--json")
    assert r.exit_code == 0 and r.json()["output_shape"] == [1, 8, 8]
    r = cli("run", "1x4x10", "Conv1d(4, 8, 3)", "-k", "5")
    assert r.exit_code == 2 and "-k/--kernel-size 5 disagrees with Conv1d(4, 8, 3)" in r.stderr


@pytest.mark.parametrize("argv, words", [
    (["shape", "4x3x64x64", "-o", "16", "-k", "3", "-i", "4"],
     ["as one unbatched input (C, D, H, W) for a Conv3d", "as a batch of 4 (N, C, H, W)"]),
    (["shape", "8x16x100", "-o", "32", "-k", "5"],
     ["one unbatched input (C, H, W) with 8 channels for a Conv2d",
      "a batch of 8 (N, C, L) with 16 channels for a Conv1d"]),
])
def test_a_conflicting_option_never_changes_the_conv(cli, argv, words):
    r = cli(*argv)
    assert r.exit_code == 2 and r.stdout == ""
    for w in words:
        assert w in r.stderr


def test_a_1d_weight_file_reads_the_input_as_1d(cli, tmp_path):
    """The regression: a [4, 3, 4] weight and a 1x4x13 input read as 2-d."""
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "x.npy", np.ones((1, 4, 13), np.float32))
    np.save(tmp_path / "w.npy", np.ones((4, 3, 4), np.float32))
    for argv in ([], ["-t"]):
        r = cli("run", str(tmp_path / "x.npy"), "--weight-file", str(tmp_path / "w.npy"),
                *argv, "--repeat", "1", "--json")
        module = (torch.nn.ConvTranspose1d(4, 3, 4) if argv else None)
        if not argv:     # (C_out, C_in/g, k) = (4, 3, 4) cannot read 4 channels
            assert r.exit_code == 2 and "Conv1d" in r.stderr, r.stderr
            continue
        assert r.exit_code == 0, r.stderr
        assert r.json()["output_shape"] == _torch_out(module, (1, 4, 13))
    np.save(tmp_path / "w.npy", np.ones((8, 4, 4), np.float32))
    r = cli("run", str(tmp_path / "x.npy"), "--weight-file", str(tmp_path / "w.npy"),
            "--repeat", "1", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["output_shape"] == _torch_out(torch.nn.Conv1d(4, 8, 4), (1, 4, 13))


def test_the_reading_note_only_where_two_readings_remain(cli):
    assert cli("shape", "8x3x224x224", "-o", "8", "-k", "3", "--json").json()["notes"] == []
    notes = cli("shape", "3x224x224", "-o", "8", "-k", "3", "--json").json()["notes"]
    assert notes and "use --dims 1" in notes[0]


def test_sweep_compares_kernel_sizes_in_one_command(cli):
    r = cli("shape", "1x1x28x28", "-o", "1", "--sweep", "k=3,5,7", "--json")
    assert r.exit_code == 0, r.stderr
    rows = r.json()["sweep"]
    assert [row["swept"] for row in rows] == [{"kernel_size": k} for k in "357"]
    for row, k in zip(rows, (3, 5, 7)):
        module = torch.nn.Conv2d(1, 1, k)
        assert row["output_shape"] == _torch_out(module, (1, 1, 28, 28))
        assert row["params"] == sum(p.numel() for p in module.parameters())
    table = cli("shape", "1x1x28x28", "-o", "1", "--sweep", "k=3,5,7").stdout
    assert "[1, 1, 22, 22]" in table and "Conv2d(1, 1, 7)" in table


def test_sweep_is_the_product_and_refused_combinations_say_why(cli):
    d = cli("params", "-i", "64", "-o", "128", "--sweep", "k=1,3", "--sweep", "g=1,3,4",
            "--json").json()
    rows = d["sweep"]
    assert len(rows) == 6 and [r["swept"]["groups"] for r in rows] == list("134") * 2
    for row in rows:
        k, g = int(row["swept"]["kernel_size"]), int(row["swept"]["groups"])
        if g == 3:
            assert row["error"] and "not divisible" in row["error"]
            with pytest.raises(ValueError):
                torch.nn.Conv2d(64, 128, k, groups=g)
        else:
            m = torch.nn.Conv2d(64, 128, k, groups=g)
            assert row["params"] == sum(p.numel() for p in m.parameters())
    r = cli("params", "-i", "4", "-o", "4", "-k", "3", "--sweep", "k=3,5")
    assert r.exit_code == 2 and "--kernel-size is given too" in r.stderr
    d = cli("shape", "1x16x9x9", "Conv2d(16, 16, 3)", "--sweep", "s=1,2", "--json").json()
    assert [r["output_shape"] for r in d["sweep"]] == [
        _torch_out(torch.nn.Conv2d(16, 16, 3, stride=s), (1, 16, 9, 9)) for s in (1, 2)]


@pytest.mark.parametrize("argv, message", [
    (["shape", "4X3X64X64", "-o", "1", "-k", "3"], "lower-case x: 4x3x64x64"),
    (["net", "Conv2d(3, 16, 3)"], "is torch code, not a shape; give the input's shape "
                                  "first, e.g. 1x3x32x32 'Conv2d(3, 16, 3)'"),
    (["shape", "1x3x8x8", "--out", "16", "-k", "3"], "did you mean --out-channels?"),
])
def test_hints_fit_the_mistake(cli, argv, message):
    r = cli(*argv)
    assert r.exit_code == 2 and message in r.stderr and "whole number" not in r.stderr


def test_compare_groups_says_more_or_fewer_in_words(cli):
    out = cli("params", "-i", "3", "-o", "4", "-k", "3", "--compare-groups").stdout
    assert "82 fewer" in out and "-73.2%" in out
    out = cli("params", "-i", "16", "-o", "16", "-k", "1", "--compare-groups").stdout
    # a 1x1 conv: the separable variant has more params than the standard one
    assert "32 more" in out and "+11.8%" in out


def test_solve_offers_torchs_padding_same_first(cli):
    d = cli("solve", "--input", "3", "--output", "3", "-k", "2", "-s", "1", "--json").json()
    first = d["solutions"][0]
    assert first["padding"] == "same" and first["dilation"] == 1
    assert first["torch"] == "nn.Conv2d(C_in, C_out, 2, padding='same')"
    m = torch.nn.Conv2d(1, 1, 2, padding="same")
    assert _torch_out(m, (1, 1, 3, 3)) == [1, 1, 3, 3]


def test_run_says_when_the_timings_spread_widely():
    from convcli.engine.timing import Timing
    busy = Timing(1.0, 0.5, 9.0, 2.0, 8, 1, "perf_counter",
                  (0.5, 0.6, 0.9, 1.0, 1.0, 1.8, 2.5, 9.0))
    note = busy.spread_note()
    assert note and "--threads 1" in note and "--repeat" in note
    assert busy.as_dict()["spread_note"] == note
    steady = Timing(1.0, 0.95, 1.1, 1.0, 8, 1, "perf_counter",
                    (0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.1))
    assert steady.spread_note() is None


def test_apply_square_is_centred_for_every_size(cli):
    for n in range(1, 12):
        d = cli("apply", f"1x1x{n}x{n}", "--pattern", "square", "-k", "1", "--kernel",
                "[[1]]", "--values", "--json").json()
        grid = torch.tensor(d["input_values"])[0, 0]
        assert torch.equal(grid, grid.flip(0)) and torch.equal(grid, grid.flip(1)), n
        assert grid.sum() > 0


def test_apply_laplacian_on_a_5x5_square_is_symmetric(cli):
    d = cli("apply", "1x1x5x5", "--pattern", "square", "-p", "1", "--kernel",
            "[[0, 1, 0], [1, -4, 1], [0, 1, 0]]", "--values", "--json").json()
    x = torch.zeros(1, 1, 5, 5)
    x[..., 1:4, 1:4] = 1
    k = torch.tensor([[0., 1, 0], [1, -4, 1], [0, 1, 0]]).reshape(1, 1, 3, 3)
    assert torch.tensor(d["output_values"]).tolist() == torch.nn.functional.conv2d(
        x, k, padding=1).tolist()


def test_apply_takes_its_input_as_a_nested_list(cli):
    d = cli("apply", "[[0, 0, 0], [0, 1, 2], [0, 3, 4]]", "--kernel", "[[1, 1], [1, 1]]",
            "--values", "--json").json()
    assert d["input_shape"] == [1, 1, 3, 3] and d["input"]["kind"] == "literal"
    assert d["output_values"] == [[[[1.0, 3.0], [4.0, 10.0]]]]
    r = cli("apply", "[[1, 2], [3]]", "-k", "1")
    assert r.exit_code == 2 and "not rectangular" in r.stderr
    r = cli("apply", "[[__import__('os')]]", "-k", "1")
    assert r.exit_code == 2 and "Traceback" not in r.stderr


@pytest.mark.parametrize("text, call", [
    ("normal:0,0.02", lambda w: torch.nn.init.normal_(w, 0, 0.02)),
    ("uniform:-1,1", lambda w: torch.nn.init.uniform_(w, -1, 1)),
    ("kaiming", lambda w: torch.nn.init.kaiming_normal_(w)),
    ("kaiming_uniform:0.1", lambda w: torch.nn.init.kaiming_uniform_(w, a=0.1)),
    ("xavier", lambda w: torch.nn.init.xavier_uniform_(w)),
    ("xavier_normal:2", lambda w: torch.nn.init.xavier_normal_(w, gain=2)),
    ("constant:0.5", lambda w: torch.nn.init.constant_(w, 0.5)),
    ("zeros", torch.nn.init.zeros_), ("ones", torch.nn.init.ones_),
])
def test_apply_init_equals_torch_nn_init_with_the_same_seed(cli, text, call):
    d = cli("apply", "1x2x6x6", "-o", "3", "-k", "3", "--init", text, "--seed", "7",
            "--values", "--json").json()
    torch.manual_seed(7)
    w = torch.empty(3, 2, 3, 3)
    call(w)
    assert torch.tensor(d["weight_values"]).tolist() == w.tolist()
    assert "torch.nn.init." in d["tensors"]["weight"]["source"]


def test_summary_freeze_follows_a_real_fine_tuning_step(cli):
    """--freeze all --unfreeze fc2: trainable/frozen counts, gradients and optimizer
    state as one real AdamW step on the same model with the same parameters frozen."""
    import importlib.util

    from conftest import ROOT
    r = cli("summary", "examples/models/cifar_cnn.py:CifarCNN", "--input", "8x3x32x32",
            "--freeze", "all", "--unfreeze", "fc2", "--train", "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    spec = importlib.util.spec_from_file_location("cifar", ROOT / "examples/models/cifar_cnn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.CifarCNN()
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("fc2."))
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert d["trainable_params"] == sum(p.numel() for p in trainable)
    assert d["frozen_params"] == sum(p.numel() for p in model.parameters()
                                     if not p.requires_grad)
    opt = torch.optim.AdamW(trainable)
    model(torch.randn(8, 3, 32, 32)).sum().backward()
    opt.step()
    grads = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters()
                if p.grad is not None)
    state = sum(t.numel() * t.element_size() for s in opt.state.values()
                for t in s.values() if torch.is_tensor(t))
    assert d["train"]["grad_bytes"] == grads
    assert d["train"]["optimizer_state_bytes"] == state
    r = cli("summary", "examples/models/cifar_cnn.py:CifarCNN", "--input", "1x3x32x32",
            "--freeze", "fc")
    assert r.exit_code == 2 and "--freeze 'fc' names no module" in r.stderr
