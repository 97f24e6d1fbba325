"""summary's meta pass runs without importing torch._dynamo or sympy (about a second
of start-up); the stand-ins leave no trace: torch.compile, torch._dynamo and sympy
work as usual afterwards, and a model that asks torch._dynamo something gets the real
answer. In a fresh interpreter, since imports are process-wide; and the stubs one by
one in this process (fastimport.py's own functions, on modules of this test)."""

import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

torch = pytest.importorskip("torch")

from convcli.engine.summary import fastimport  # noqa: E402
from convcli.engine.summary.fastimport import _Proxy, _installed, dynamo_stub, fast_meta  # noqa: E402

CODE = textwrap.dedent("""
    import sys
    import torch
    import convcli
    sys.path.insert(0, "tests/engine")
    import summary_models as sm

    class Asks(torch.nn.Module):
        def forward(self, x):
            assert not torch._dynamo.is_compiling()
            return x + 1

    for model, shape in ((sm.ViT(), (1, 3, 64, 64)), (sm.NonLocalNet(), (1, 3, 32, 32))):
        report = convcli.summarise(model, shape)
        assert report.path == "meta" and report.macs_complete
    print("dynamo" if "torch._dynamo" in sys.modules else "-",
          "sympy" if "sympy" in sys.modules else "-")
    assert convcli.summarise(Asks(), (2, 3)).path == "meta"   # loads the real module
    import sympy
    assert sympy.Basic.__module__.startswith("sympy")
    f = torch.compile(lambda x: x * 2 + 1, backend="eager")
    assert f(torch.ones(2)).tolist() == [3.0, 3.0]
    print("ok")
""")


def test_meta_pass_imports_neither_dynamo_nor_sympy_and_leaves_no_trace():
    p = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                       cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.split() == ["-", "-", "ok"]


# ---- the stubs, in this process --------------------------------------------------


def test_a_proxy_defers_to_the_real_module_for_what_it_lacks(tmp_path, monkeypatch):
    (tmp_path / "convcli_fake_heavy.py").write_text("LOADED = True\nvalue = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    stub = _Proxy("convcli_fake_heavy")
    stub.value = 1
    with _installed("convcli_fake_heavy", stub):
        assert sys.modules["convcli_fake_heavy"] is stub
        assert stub.value == 1                     # its own attribute first
        assert stub.LOADED is True                 # then the real module, imported now
        assert stub._real.value == 42
    assert sys.modules["convcli_fake_heavy"] is stub._real     # the real one stays
    with pytest.raises(AttributeError):
        stub.__wrapped__
    monkeypatch.delitem(sys.modules, "convcli_fake_heavy")


def test_installed_leaves_a_loaded_module_alone():
    real = sys.modules["json"] if "json" in sys.modules else __import__("json")
    with _installed("json", _Proxy("json")):
        assert sys.modules["json"] is real


def test_the_shape_helpers_answer_plain_values(monkeypatch):
    monkeypatch.delitem(sys.modules, fastimport._SHAPES, raising=False)
    with fastimport._shapes_stub():
        stub = sys.modules[fastimport._SHAPES]
        assert stub.guard_or_false(1) is True and stub.guard_or_true(0) is False
        assert stub.sym_eq([1, 2], [1, 2]) and not stub.sym_eq([1, 2], [1, 2, 3])
        assert stub.sym_eq(3, 3) and stub.definitely_false(0)
        assert stub.sym_and(True, 1) and not stub.sym_or(0, False)
        assert stub.guard_int(True) == 1 and stub.free_unbacked_symbols(4) == set()
        assert stub._real is None                  # nothing needed the real module
    assert fastimport._SHAPES not in sys.modules or \
        sys.modules[fastimport._SHAPES] is not stub


def test_sympys_basic_has_no_instances_until_sympy_is_real(monkeypatch):
    monkeypatch.delitem(sys.modules, "sympy", raising=False)
    with fastimport._sympy_stub():
        stub = sys.modules["sympy"]
        assert not isinstance(3, stub.Basic) and not isinstance(torch.zeros(1), stub.Basic)
    assert sys.modules.get("sympy") is not stub


def test_dynamos_disable_returns_the_function_and_leaves_no_mark(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)

    def f(x):
        return x
    with dynamo_stub():
        stub = sys.modules["torch._dynamo"]
        f.__dynamo_disable = True                  # what a real wrapper would cache
        assert stub.disable(f) is f
        assert stub.disable()(f) is f
    assert "__dynamo_disable" not in f.__dict__
    assert sys.modules.get("torch._dynamo") is not stub


def test_a_summary_under_fast_meta_counts_as_torch_does():
    from torch.utils.flop_counter import FlopCounterMode
    import convcli
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(),
                                torch.nn.LazyLinear(5))
    with fast_meta():
        rep = convcli.summarise(model, (1, 3, 8, 8))
    fc = FlopCounterMode(display=False)
    with fc, torch.no_grad():
        model(torch.zeros(1, 3, 8, 8))
    assert rep.total_macs == fc.get_total_flops() // 2
