"""summary's meta pass runs without importing torch._dynamo or sympy (about a second
of start-up); the stand-ins leave no trace: torch.compile, torch._dynamo and sympy
work as usual afterwards, and a model that asks torch._dynamo something gets the real
answer. In a fresh interpreter, since imports are process-wide."""

import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

pytest.importorskip("torch")

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
