import subprocess
import sys

import convcli
from conftest import ROOT


def test_public_api_is_pinned():
    assert sorted(convcli.__all__) == ["ConvError", "ConvSpec", "EnvironmentProblem",
                                       "__version__", "analyse_net", "summarise",
                                       "summary"]
    from convcli import ConvError, ConvSpec
    assert issubclass(ConvError, ValueError) and ConvSpec.__module__ == "convcli.calculator.spec"


def test_import_convcli_is_light():
    p = subprocess.run(
        [sys.executable, "-c", "import sys, convcli; print(sorted({'torch','numpy','rich','typer'}"
                               " & set(sys.modules)))"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    assert p.stdout.strip() == "[]", p.stderr
