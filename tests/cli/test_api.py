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


def test_the_report_class_is_light():
    """NetReport (every API entry point's return type) and its torchinfo names load
    neither torch, numpy, rich nor typer."""
    code = ("import sys; from convcli.network.net_report import NetReport, NetRow; "
            "r = NetReport((1, 3), [NetRow(1, 'Linear(3, 2)', 'Linear', (1, 3), (1, 2), 8, 6)], 8); "
            "print(r.total_mult_adds, r.summary_list[0].num_params, r.total_input, repr(r)); "
            "print(sorted({'torch','numpy','rich','typer'} & set(sys.modules)))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT)})
    first, second = p.stdout.splitlines()
    assert first.startswith("6 8 12 <NetReport network: 1 rows") and second == "[]", p.stderr


def test_without_torch_the_api_raises_environment_problem():
    """torch hidden (None in sys.modules): convcli.summary and convcli.summarise raise
    EnvironmentProblem with the CLI's one line, not ModuleNotFoundError."""
    code = ("import sys; sys.modules['torch'] = None; import convcli\n"
            "for call in (lambda: convcli.summary(object(), input_size=(1, 3)),\n"
            "             lambda: convcli.summarise(object(), (1, 3))):\n"
            "    try:\n        call()\n"
            "    except convcli.EnvironmentProblem as e:\n        print(type(e).__name__, e)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT)})
    lines = p.stdout.splitlines()
    assert len(lines) == 2, p.stderr
    assert all(line.startswith("EnvironmentProblem torch is not installed") for line in lines)
