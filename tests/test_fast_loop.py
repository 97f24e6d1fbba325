"""The rules of the fast inner loop (tests/conftest.py) can fail: a helper that starts
a process makes its callers slow at any depth, a grid keeps its sample, a process the
reading misses fails the test that started it, the named files and modules exist.
The loop's CPU itself is measured by benchmarks/fast_loop.py, not here."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

import conftest
from conftest import ROOT, SLOW_FILES, UNREACHABLE, convcli_modules, examples, sample


def test_every_slow_file_and_every_unreachable_module_exists():
    """Rule 2's names and the reach check's exceptions rot silently when a file moves."""
    names = {p.name for p in (ROOT / "tests").rglob("test_*.py")}
    assert SLOW_FILES <= names, SLOW_FILES - names
    assert set(UNREACHABLE) <= convcli_modules()
    assert {"convcli", "convcli.cli.app", "convcli.errors"} <= convcli_modules()


def test_a_helper_that_starts_a_process_makes_every_caller_slow(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import subprocess\n"
        "def _low():\n    return subprocess.run(['true'])\n"
        "def _middle():\n    return _low()\n"
        "def test_calls_it():\n    _middle()\n"
        "def test_does_not():\n    assert 1 + 1 == 2\n"
        "class TestBox:\n    def test_method(self):\n        _middle()\n"
        "def test_reads_a_pty():\n    import os\n    os.forkpty()\n")
    refs, starting, _ = conftest._file_facts(str(tmp_path / "test_x.py"))
    assert {"_low", "_middle", "test_calls_it", "test_method", "test_reads_a_pty"} <= starting
    assert "test_does_not" not in starting
    assert "subprocess" in refs[("TestBox", "test_method")] | refs[(None, "_low")]


@pytest.mark.loop   # its own text names a zoo and --png: the rule reads those as a run
def test_a_model_zoo_or_a_picture_makes_its_users_slow(tmp_path):
    """Rule 4: a `*_models` module, a name assigned from one or from a zoo file's path,
    or --png/--svg, at any depth; other tests of the file stay in the loop."""
    (tmp_path / "test_y.py").write_text(
        "import train_models as tm\nfrom pathlib import Path\n"
        "MODEL = Path('tests') / 'engine' / 'summary_models.py'\nCIFAR = 'cifar.txt'\n"
        "def _build():\n    return tm.TRAIN_MODELS\n"
        "def test_zoo():\n    _build()\n"
        "def test_path():\n    assert MODEL\n"
        "def test_inline():\n    return 'examples/models/cifar_cnn.py:CifarCNN'\n"
        "def test_picture(cli):\n    cli('show', '--png', 'x.png')\n"
        "def test_text(cli):\n    cli('net', CIFAR)\n")
    _, starting, zoo = conftest._file_facts(str(tmp_path / "test_y.py"))
    assert {"_build", "test_zoo", "test_path", "test_inline", "test_picture"} <= zoo
    assert "test_text" not in zoo and not starting


def test_the_sh_fixture_and_run_subprocess_count_as_processes():
    helpers = conftest._conftest_helpers(ROOT / "tests" / "cli")
    assert {"sh", "run_subprocess", "start_ready", "run_script"} <= helpers
    assert "cli" not in helpers and "read_pty" not in helpers


def test_sample_keeps_an_even_spread_and_marks_the_rest_slow():
    params = sample(range(10), keep=3)
    fast = [p.values[0] for p in params if not any(m.name == "slow" for m in p.marks)]
    assert fast == [0, 4, 9] and len(params) == 10
    assert all([m.name for m in p.marks] == ["loop"] for p in params if p.values[0] in fast)
    one = sample([pytest.param(("a", 1), id="first"), ("b", 2)], unpack=True)
    assert one[0].id == "first" and [m.name for m in one[0].marks] == ["loop"]
    assert one[1].values == ("b", 2) and [m.name for m in one[1].marks] == ["slow"]


def test_examples_are_a_tenth_in_the_fast_loop(monkeypatch):
    monkeypatch.setenv(conftest.FAST_LOOP_ENV, "1")
    assert (examples(3000), examples(260, fast=60), examples(5)) == (300, 60, 1)
    monkeypatch.setenv(conftest.FAST_LOOP_ENV, "0")
    assert (examples(3000), examples(260, fast=60)) == (3000, 260)


def test_the_guard_fails_a_fast_test_that_starts_python_and_only_python():
    """The guard's count and verdict, without starting anything: the counting wrapper
    is given a start that does nothing."""
    count = conftest._counting(lambda argv: None, program=lambda argv: argv)
    before = conftest._STARTED[0]
    try:
        for argv, runs_python in (([sys.executable, "-c", "pass"], True),
                                  (["sh", "-c", "exec python3 -m convcli"], True),
                                  ("python3 -m convcli shape", True),
                                  (["fc-list", "--format", "%{file}"], False),
                                  ([b"/usr/bin/git", b"status"], False)):
            start = conftest._STARTED[0]
            count(argv)
            assert conftest._STARTED[0] - start == runs_python, argv
        fast = SimpleNamespace(get_closest_marker=lambda name: None)
        outcome = SimpleNamespace(excinfo=None, forced=None)
        outcome.force_exception = lambda e: setattr(outcome, "forced", e)
        guard = conftest._guard_processes(fast)
        next(guard)
        count([sys.executable])
        with pytest.raises(StopIteration):
            guard.send(outcome)
        assert "not marked slow" in str(outcome.forced)
    finally:
        conftest._STARTED[0] = before


def test_the_reach_check_names_what_no_fast_test_imports():
    """The modules' names come from the files; a run that reached all but one names
    that one, and the modules no test can import for a stated reason are not asked."""
    names = convcli_modules()
    assert len(names) == len(list((ROOT / "convcli").rglob("*.py")))
    assert {"convcli", "convcli.errors", "convcli.cli"} <= names
    assert not any(n.endswith("__init__") for n in names)
    assert conftest.unreached(names) == []
    one = min(names - set(UNREACHABLE))
    assert conftest.unreached(names - {one}) == [one]
    assert conftest.unreached(names - set(UNREACHABLE)) == []


def test_the_fast_loop_runs_in_one_process_under_n_auto(monkeypatch):
    """pyproject's `-n auto` gives the fast loop no xdist workers (each worker collects
    the whole suite again); the full suite and an explicit worker count are untouched."""
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)

    def workers(markexpr):
        config = SimpleNamespace(option=SimpleNamespace(markexpr=markexpr))
        return conftest.pytest_xdist_auto_num_workers(config)

    assert workers("not slow") == 0 and workers("not  slow") == 0
    assert workers("") is None and workers("slow") is None and workers("not cuda") is None
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "2")
    assert workers("not slow") is None


def test_what_collection_built_is_out_of_the_collectors_sight():
    """pytest_collection_finish froze the test modules, torch and the items: each later
    full collection walks only what the tests make."""
    import gc
    assert gc.get_freeze_count() > 10_000
