"""summary --train against torch: the activation bytes against what
saved_tensors_hooks see on a real CPU forward (within 5%; the tests' own hook, not
convcli's), fp32 and bf16 autocast, on the four test models; gradients and optimizer
state against a real step; frozen parameters; --budget against real passes at the
answer and the next batch; --measure on the CPU; FakeTensorMode pinned."""

import pytest

torch = pytest.importorskip("torch")

import train_models as tm  # noqa: E402
from conftest import sample  # noqa: E402
from torch_truth import (check_budget_against_real_steps, saved_activation_bytes,  # noqa: E402
                         zoo_saved_bytes)

FILE = tm.__file__


@pytest.mark.parametrize("amp", sample([None, "bf16"]))          # rule 3: a model zoo
@pytest.mark.parametrize("name", sample(["cnn_bn", "resnet_small", "transformer_mha",
                                         "transformer_sdpa", "depthwise"], keep=2))
def test_saved_activations_within_5_percent_of_the_hooks(train_json, name, amp):
    data = train_json(tm.TRAIN_MODELS, name, 4, *(["--amp", amp] if amp else []))
    real = zoo_saved_bytes(tm.TRAIN_MODELS, name, 4, torch.bfloat16 if amp else None)
    est = data["train"]["activation_bytes"]
    assert abs(est - real) <= 0.05 * real, (est, real)
    assert data["train"]["method"] == "fake-cpu"
    rows = [r for r in data["layers"] if not r["expanded"]]
    assert sum(r["train"]["activation_bytes"] for r in rows) == est


def test_params_grads_and_optimizer_state_against_a_real_step(train_json):
    for optimizer, copies in (("adamw", 2), ("sgd-momentum", 1), ("sgd", 0), ("none", 0)):
        data = train_json(tm.TRAIN_MODELS, "resnet_small", 2,
                          "--optimizer", optimizer)["train"]
        model = tm.build_resnet_small()
        params = list(model.parameters())
        nbytes = sum(p.numel() * 4 for p in params)
        assert data["param_bytes"] == data["grad_bytes"] == nbytes
        for p in params:
            p.grad = torch.ones_like(p)
        state = 0
        if optimizer != "none":
            opt = {"adamw": torch.optim.AdamW, "sgd-momentum": lambda ps: torch.optim.SGD(
                ps, lr=0.1, momentum=0.9), "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1)}[
                    optimizer](params)
            opt.step()
            state = sum(v.numel() * v.element_size() for s in opt.state.values()
                        for v in s.values() if isinstance(v, torch.Tensor))
        assert data["optimizer_state_bytes"] == state
        assert state >= copies * nbytes


def test_frozen_parameters_get_no_gradient_or_state(cli, tmp_path):
    path = tmp_path / "frozen.py"
    path.write_text(f"import sys\nsys.path.insert(0, {str(tm.EXAMPLES.parents[1] / 'tests' / 'engine')!r})\n"
                    "import train_models as tm\n"
                    "def build():\n    m = tm.build_resnet_small()\n"
                    "    m.stem.requires_grad_(False)\n    return m\n")
    data = cli("summary", f"{path}:build", "--input", "2x3x32x32", "--train", "--json").json()
    frozen = sum(p.numel() * 4 for p in tm.build_resnet_small().stem.parameters())
    t = data["train"]
    assert t["grad_bytes"] == t["param_bytes"] - frozen
    stem = [r for r in data["layers"] if r["name"].startswith("stem.") and r["params"]]
    assert all(r["train"]["grad_bytes"] == 0 and r["train"]["state_bytes"] == 0 for r in stem)


def test_dtype_casts_the_whole_model(train_json):
    t = train_json(tm.TRAIN_MODELS, "transformer_sdpa", 2, "--dtype", "bfloat16")["train"]
    model = tm.build_transformer_sdpa().to(torch.bfloat16)
    assert t["param_bytes"] == sum(p.numel() * 2 for p in model.parameters())
    real = saved_activation_bytes(model, torch.randn(2, 64, 128, dtype=torch.bfloat16))
    assert abs(t["activation_bytes"] - real) <= 0.05 * real


def test_budget_is_the_largest_batch_that_fits(train_json):
    t = train_json(tm.TRAIN_MODELS, "cnn_bn", 2, "--budget", "48MiB")["train"]
    b = check_budget_against_real_steps(t, tm.TRAIN_MODELS, "cnn_bn", 48 * 2 ** 20)
    assert b["dominant"] == "activations"


@pytest.mark.loop       # rule 4 (tests/conftest.py): the zoo's sample in the fast loop
def test_measure_on_the_cpu_is_the_tests_measure(train_json):
    t = train_json(tm.TRAIN_MODELS, "depthwise", 2, "--measure")["train"]
    real = zoo_saved_bytes(tm.TRAIN_MODELS, "depthwise", 2)
    assert t["measured"]["device"] == "cpu"
    assert t["measured"]["saved_activation_bytes"] == real
    assert abs(t["activation_bytes"] - real) <= 0.05 * real


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_measure_on_cuda_reports_the_peak(train_json):
    t = train_json(tm.TRAIN_MODELS, "resnet_small", 8, "--measure",
                   "--device", "cuda")["train"]
    m = t["measured"]
    assert m["peak_bytes"] >= m["saved_activation_bytes"] > 0
    assert abs(m["saved_activation_bytes"] - t["activation_bytes"]) <= \
        0.1 * t["activation_bytes"]


def test_fake_tensor_mode_is_there_and_the_meta_fallback_says_so(train_json, monkeypatch):
    """FakeTensorMode is private torch API: pinned here; without it the estimate runs
    on plain meta and the notes say what that misses."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode(allow_non_fake_inputs=True):
        t = torch.empty(2, 3)
    assert type(t).__name__ == "FakeTensor" and t.device.type == "cpu"
    import convcli.engine.summary.train_memory as trm
    monkeypatch.setattr(trm, "fake_mode", lambda: None)
    import convcli.engine.summary.saved_tensors as tr
    monkeypatch.setattr(tr, "fake_mode", lambda: None)
    data = train_json(tm.TRAIN_MODELS, "cnn_bn", 2)["train"]
    assert data["method"] == "meta" and any("FakeTensorMode" in n for n in data["notes"])
    real = zoo_saved_bytes(tm.TRAIN_MODELS, "cnn_bn", 2)
    assert data["activation_bytes"] == real   # fp32 without SDPA: meta saves the same


def test_data_dependent_model_is_measured_for_real(cli):
    import summary_models as sm
    r = cli("summary", f"{sm.__file__}:build_det_head", "--input", "1x3x64x64", "--train",
            "--json")
    t = r.json()["train"]
    assert t["method"] == "cpu-real"
    torch.manual_seed(0)
    model = sm.DetHead()
    assert t["activation_bytes"] == saved_activation_bytes(model, torch.zeros(1, 3, 64, 64))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_measure_on_cuda_without_a_gpu_is_an_environment_error(cli):
    shape = "2x3x32x32"
    r = cli("summary", f"{FILE}:build_resnet_small", "--input", shape, "--measure",
            "--device", "cuda", "--json")
    assert r.exit_code == 3 and r.stdout == "" and "torch.cuda.is_available()" in r.stderr
