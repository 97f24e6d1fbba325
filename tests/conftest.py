"""Shared test helpers: run the CLI in-process (CliRunner) or as a user would
(a subprocess of `python -m convcli`), with bugs re-raised rather than swallowed;
start and signal convcli processes; and the rules of the fast inner loop
(`python -m pytest -m "not slow"`, below) with the guards that keep them honest."""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import resource
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]

GOLDEN = ROOT / "tests" / "views" / "golden"

# Unknown exceptions are bugs: command_errors.py re-raises them under this variable.
os.environ["CONVCLI_DEBUG"] = "1"


@pytest.fixture(autouse=True, scope="session")
def _help_cache_in_a_temporary_folder(tmp_path_factory):
    """`convcli --help` run as a process caches Typer's output under XDG_CACHE_HOME:
    the tests' copies go to a folder of their own, never the user's ~/.cache."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


# ---- the fast inner loop ---------------------------------------------------------
# `python -m pytest -m "not slow"` is the inner loop: under a minute of CPU on two
# cores, in one process (pyproject's `-n auto` gives it no workers: see
# pytest_xdist_auto_num_workers; benchmarks/fast_loop.py --check; docs/architecture.md,
# "Tests"). The full suite (`python -m pytest`, as CI runs it) runs every test. A test
# is slow by one of these rules, never by a list of names measured once:
#  1. it starts processes: it takes the `sh` fixture, or its body, a fixture it takes or
#     a helper of its file or of a conftest that it calls (at any depth) names one of
#     PROCESS_NAMES. A test that is not slow and starts a process anyway fails (the guard
#     below), so a way of starting one that this reading misses is found at once;
#  2. it lives in a file that runs whole models, documents or checkers (SLOW_FILES; a
#     test pins that each file exists);
#  3. it is the costly part of a grid: a grid over a model zoo, terminal widths, random
#     cases or sizes keeps a sample of its cases in the fast loop (`sample()`), the
#     rest carry the mark; random cases and property tests try a tenth of their cases
#     there (`examples()`); a test at a scale (30,000 layers) marks itself;
#  4. it runs a model zoo or draws a picture: its body, or a helper or module-level name
#     of its file, names a `*_models` module of tests/, a model file (`*_models.py`,
#     examples/models/*.py), --png/--svg or a .png/.svg file (matplotlib draws it); a
#     sample of each family stays in the loop (`sample()`, or `@pytest.mark.loop` on
#     the test that keeps its modules reached).
# Tests may also mark themselves (`@pytest.mark.slow`). At the end of a whole fast run,
# every module of convcli must have been imported by a test of the fast loop (or by
# the module-level imports of a file that has one), and the tests of the fast loop that
# took over a second of CPU are listed.
SLOW_FILES = {"test_docs.py", "test_ci_integration.py", "test_imports.py", "test_types.py",
              "test_fuzz.py", "test_verify_examples.py", "test_model_examples.py",
              "test_readme.py", "test_summary_fastimport.py"}
PROCESS_NAMES = {"subprocess", "Popen", "run_subprocess", "multiprocessing", "fork",
                 "forkpty", "spawn", "posix_spawn", "nbclient"}
# what no fast test can import for a reason (rule of the module-reach check)
UNREACHABLE = {
    "convcli.__main__": "it is `python -m convcli`: a process (rule 1)",
    "convcli.main": "its import takes SIGINT and SIGTERM for the importing process and "
                    "main() leaves by os._exit: the console script, run as a process",
    "convcli.engine.summary.dist_worker": "one rank of summary --measure --gpus N: a "
                                          "process torch.distributed joins (rule 1)"}
SLOW_CPU_S = 1.0
# set by pytest_configure: "1" when the run deselects the slow tests (an environment
# variable: test files import this module under another name than pytest does)
FAST_LOOP_ENV = "CONVCLI_TESTS_FAST_LOOP"


def sample(values, keep: int = 1, unpack: bool = False) -> list:
    """Rule 3: a grid's cases with all but `keep` of them (spread evenly, the first
    always) marked slow, the kept ones `loop` (kept on purpose, rule 4 too). `unpack`:
    each value is a tuple of several arguments."""
    values = list(values)
    n = len(values)
    fast = {round(i * (n - 1) / (keep - 1)) for i in range(keep)} if keep > 1 else {0}
    out = []
    for i, v in enumerate(values):
        if isinstance(v, type(pytest.param(None))):
            args, marks, pid = v.values, list(v.marks), v.id
        else:
            args, marks, pid = (tuple(v) if unpack else (v,)), [], None
        keep_it = pytest.mark.loop if i in fast else pytest.mark.slow
        out.append(pytest.param(*args, id=pid, marks=marks + [keep_it]))
    return out


def examples(n: int, fast: int | None = None) -> int:
    """Rule 3 for random cases: a property test or a random sample tries `n` cases in
    the full suite and `fast` (a tenth by default) in the fast loop (`-m "not slow"`)."""
    if os.environ.get(FAST_LOOP_ENV) != "1":
        return n
    return fast if fast is not None else max(1, n // 10)


_ZOO_FILE = re.compile(r"_models\.py|examples/models/\w+\.py")


def _referenced(node) -> set[str]:
    """The names a piece of code uses; "<zoo>" for the path of a model zoo's file,
    "<picture>" for a picture drawn to a file (matplotlib)."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.Attribute):
            names.add(n.attr)
        elif isinstance(n, ast.alias):
            names.update(n.name.split("."))
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            if _ZOO_FILE.search(n.value):
                names.add("<zoo>")
            elif n.value in ("--png", "--svg") or n.value.endswith((".png", ".svg")):
                names.add("<picture>")
    return names


def _zoo_names(tree) -> set[str]:
    """The module-level names of a file that stand for a model zoo: a `*_models` module
    imported (or what is imported from one), and names assigned from those or from a
    zoo file's path."""
    zoo = {"<zoo>", "<picture>"}
    for top in tree.body:
        if isinstance(top, (ast.Import, ast.ImportFrom)):
            module = getattr(top, "module", None) or ""
            for a in top.names:
                if (module or a.name).split(".")[-1].endswith("_models"):
                    zoo.add((a.asname or a.name).split(".")[0])
        elif isinstance(top, (ast.Assign, ast.AnnAssign)) and top.value is not None and \
                _referenced(top.value) & zoo:
            targets = top.targets if isinstance(top, ast.Assign) else [top.target]
            zoo |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return zoo


def _closure(refs: dict, seeds: set[str]) -> frozenset:
    """The names of the functions that use one of `seeds`, directly or through one
    another."""
    found: set[str] = set()
    while True:
        more = {name for (_, name), used in refs.items()
                if name not in found and used & (seeds | found)}
        if not more:
            return frozenset(found)
        found |= more


@functools.lru_cache(maxsize=None)
def _file_facts(path: str) -> tuple[dict, frozenset, frozenset]:
    """((class or None, function) -> names its body references; the names of the file's
    functions that start processes; those that run a model zoo; at any depth)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}, frozenset(), frozenset()
    refs = {}
    for top in tree.body:
        inner = top.body if isinstance(top, ast.ClassDef) else [top]
        for f in inner:
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = ast.Module(body=f.body, type_ignores=[])
                key = (top.name if isinstance(top, ast.ClassDef) else None, f.name)
                refs[key] = _referenced(body) | _referenced(f.args)
    zoo = _zoo_names(tree)
    return refs, _closure(refs, PROCESS_NAMES), _closure(refs, zoo) | zoo


@functools.lru_cache(maxsize=None)
def _conftest_helpers(folder: Path) -> frozenset:
    """The functions and fixtures of the conftests over a folder that start processes."""
    tests = ROOT / "tests"
    found = _file_facts(str(folder / "conftest.py"))[1]
    return found | _conftest_helpers(folder.parent) if folder != tests and \
        tests in folder.parents else found


def _slow_by_reading(item) -> bool:
    """Rules 1 and 4, read from the test's file (and its conftests)."""
    helpers = _conftest_helpers(item.path.parent)
    refs, starting, zoo = _file_facts(str(item.path))
    key = (item.cls.__name__ if getattr(item, "cls", None) else None,
           getattr(item, "originalname", item.name))
    used = refs.get(key, set()) | set(getattr(item, "fixturenames", ()))
    if used & (PROCESS_NAMES | starting | helpers):
        return True
    return bool(used & zoo) and item.get_closest_marker("loop") is None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("slow"):
            continue
        if item.path.name in SLOW_FILES or _slow_by_reading(item):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session):
    """What collection built (the test modules, torch, the items) lives to the end of
    the run: moved out of the cyclic collector's sight, every later collection of the
    oldest generation walks only what the tests make (half the GC time of the CLI and
    view tests, measured with gc.callbacks)."""
    import gc
    gc.collect()
    gc.freeze()


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files in tests/views/golden from the "
                          "current output (then review the diff)")


@pytest.fixture
def golden(request):
    """golden("name.txt", text): text equals the golden file (or rewrites it under
    --update-goldens)."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no golden file {path}; create it with --update-goldens"
        assert text == path.read_text(encoding="utf-8"), \
            f"{name} differs; if the change is intended: python -m pytest --update-goldens"

    return check


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli():
    """cli("shape", "4x3x8x8", "-o", "4", "-k", "3") -> Result (in-process, 120 columns)."""
    from convcli.cli import app

    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})

    def invoke(*args: str) -> Result:
        r = runner.invoke(app, list(args), catch_exceptions=False)
        return Result(r.exit_code, r.stdout, r.stderr)

    return invoke


@pytest.fixture
def train_json(cli):
    """train_json(zoo, name, batch, *extra) -> the JSON of `summary FILE:build_NAME
    --input BATCHxSHAPE --train --json` for one model of a test zoo ({name: (build,
    input shape without the batch)}, each also a `build_<name>` of the zoo's file), exit
    0 asserted; its truth on a real forward is torch_truth.zoo_saved_bytes. (A fixture
    here: a conftest.py in a subfolder would shadow this module for `from conftest`.)"""
    def run(zoo: dict, name: str, batch: int, *extra: str) -> dict:
        build, shape = zoo[name]
        where = f"{build.__code__.co_filename}:build_{name}"
        size = "x".join(map(str, (batch, *shape)))
        r = cli("summary", where, "--input", size, "--train", *extra, "--json")
        assert r.exit_code == 0, r.stderr
        return r.json()

    return run


def run_subprocess(*args: str, env: dict | None = None, timeout: float = 120) -> Result:
    """`python -m convcli ARGS` in a fresh interpreter, from this checkout."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    full_env.pop("CONVCLI_DEBUG", None)
    full_env.update(env or {})
    p = subprocess.run([sys.executable, "-m", "convcli", *args], capture_output=True,
                       text=True, env=full_env, timeout=timeout, cwd=ROOT)
    return Result(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def sh():
    return run_subprocess


def convcli_env(**extra: str | None) -> dict:
    """The environment of a convcli process as a user starts it from this checkout:
    no CONVCLI_DEBUG, 80 columns, NO_COLOR; `extra` on top (None removes a name)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONVCLI_DEBUG", "COLUMNS", "LINES", "NO_COLOR")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="80", NO_COLOR="1")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def takes_sigterm(pid: int) -> bool:
    """Has the process installed its SIGTERM handler? (Linux's /proc: the caught-signal
    mask. Python alone never catches SIGTERM; convcli's main.py takes SIGINT and
    SIGTERM in one statement, its first.) False once the process is gone.
    benchmarks/probe.py keeps a copy: a script must not import the suite's conftest."""
    import signal
    try:
        with open(f"/proc/{pid}/status") as f:
            mask = next(line for line in f if line.startswith("SigCgt:")).split()[1]
    except (OSError, StopIteration):
        return False
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def start_ready(cmd: list[str], env: dict | None = None,
                **popen) -> tuple[subprocess.Popen, float]:
    """`cmd` started in the checkout (text, stdout and stderr piped unless `popen` says
    otherwise), returned once it has taken SIGTERM or ended, with that moment
    (time.perf_counter): offsets from there are offsets into convcli's own code."""
    import time
    popen = {"text": True, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    p = subprocess.Popen(cmd, cwd=ROOT, env=env or convcli_env(), **popen)
    while p.poll() is None and not takes_sigterm(p.pid):
        time.sleep(0.0002)
    return p, time.perf_counter()


def signal_at(p: subprocess.Popen, when: float, sig: int) -> None:
    """`sig` sent to `p` at time.perf_counter() == `when`: slept to 2 ms before, then
    a busy wait (a sleep overshoots the sub-millisecond offsets)."""
    import time
    if when - time.perf_counter() > 0.002:
        time.sleep(when - time.perf_counter() - 0.002)
    while time.perf_counter() < when:
        pass
    p.send_signal(sig)


def run_script(python: str, script: str, timeout: float = 120) -> tuple[int, list[str], str]:
    """`python -c script` in the checkout: (exit code, stderr lines, stdout)."""
    p = subprocess.run([python, "-c", script], cwd=ROOT, env=convcli_env(), text=True,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stderr.splitlines(), p.stdout


def read_pty(parent: int) -> bytes:
    """Everything a child wrote to its pseudo-terminal until it closed (60 s at most
    between chunks); the parent end is closed afterwards."""
    import os
    import select
    out = b""
    while select.select([parent], [], [], 60)[0]:
        try:
            chunk = os.read(parent, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(parent)
    return out


# ---- the fast loop's guards: processes started, modules reached, CPU per test ------

_STARTED = [0]      # interpreters and shells started or forked here (by any test)


def _counting(start, program=None):
    """`start` that counts the processes it starts which run Python: an interpreter, a
    shell (it runs one), a fork of this one; `fc-list` run by matplotlib's first import
    costs nothing worth a rule."""
    @functools.wraps(start)
    def counted(*args, **kwargs):
        if program is None or _runs_python(program(*args, **kwargs)):
            _STARTED[0] += 1
        return start(*args, **kwargs)
    return counted


def _runs_python(argv) -> bool:
    first = argv if isinstance(argv, (str, bytes, os.PathLike)) else (list(argv) or [""])[0]
    words = os.fsdecode(first).split()
    name = os.path.basename(words[0]) if words else ""
    return name.startswith("python") or name in ("sh", "bash", "env", "convcli") or \
        words[:1] == [sys.executable]


def _fast_loop_asked(config) -> bool:
    return config.option.markexpr.replace(" ", "") == "notslow"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml's addopts) for the fast loop: one process. Each xdist
    worker adds a collection of the whole suite with torch (~4.5 s) and the per-test
    traffic to the controller: two workers cost 1.3x the CPU of one process, save a
    third of the wall time on an idle two-core machine and none under a load of 3-4
    (benchmarks/fast_loop.py; docs/architecture.md, "Tests"). The full suite keeps a
    worker per core; `-n 2` or PYTEST_XDIST_AUTO_NUM_WORKERS choose for themselves."""
    if _fast_loop_asked(config) and not os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return 0
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "loop: kept in the fast loop on purpose: the sample "
                            "of a model zoo or a grid (tests/conftest.py, rules 3 and 4)")
    os.environ[FAST_LOOP_ENV] = "1" if _fast_loop_asked(config) else "0"
    subprocess.Popen._execute_child = _counting(
        subprocess.Popen._execute_child,
        lambda self, args, executable, *rest, **kw: executable or args)
    for name in ("fork", "forkpty"):
        if hasattr(os, name):
            setattr(os, name, _counting(getattr(os, name)))
    config._fast_loop = {"reached": set(), "imported_by": {}, "cpu": [], "known": set()}
    _build_each_app_once()


def _build_each_app_once() -> None:
    """Typer builds the whole click command again on every CliRunner.invoke and every
    app() call (half of a CLI test's CPU); a process of convcli builds it once, and so
    does the suite: per app and set of registered commands (typer.main.get_command,
    and typer.testing's private alias of it where there is one)."""
    import typer.main
    import typer.testing
    build = typer.main.get_command
    if getattr(build, "_convcli_once", False):
        return
    built: dict = {}

    def once(app):
        key = (id(app), tuple(map(id, app.registered_commands)),
               tuple(map(id, app.registered_groups)))
        if key not in built or built[key][0] is not app:
            built[key] = (app, build(app))
        return built[key][1]

    once._convcli_once = True
    typer.main.get_command = once           # Typer.__call__ and the tests' own calls
    if hasattr(typer.testing, "_get_command"):
        typer.testing._get_command = once   # CliRunner.invoke


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The convcli modules a test file's own import brings in (rule of the reach check:
    a file's module-level imports count when the file has a test in the fast loop)."""
    if not isinstance(collector, pytest.Module):
        yield
        return
    before = set(sys.modules)
    yield
    state = collector.config._fast_loop
    state["imported_by"][str(collector.path)] = {
        m for m in set(sys.modules) - before if m.startswith("convcli")}


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    state = item.config._fast_loop
    slow = item.get_closest_marker("slow") is not None
    t0, n = _cpu(), len(sys.modules)
    yield
    if slow:
        return
    took = _cpu() - t0
    if took > SLOW_CPU_S:
        state["cpu"].append((round(took, 2), item.nodeid))
    if len(sys.modules) != n:
        now = set(sys.modules)
        state["reached"] |= {m for m in now - state["known"] if m.startswith("convcli")}
        state["known"] = now


def _guard_processes(item):
    n = _STARTED[0]
    outcome = yield
    if _STARTED[0] != n and item.get_closest_marker("slow") is None and \
            outcome.excinfo is None:
        outcome.force_exception(pytest.fail.Exception(
            "this test starts a process but is not marked slow (tests/conftest.py, rule "
            "1): mark it @pytest.mark.slow, or name how it starts one in PROCESS_NAMES",
            pytrace=False))
    if not _dev_null_is_a_device() and outcome.excinfo is None:
        outcome.force_exception(pytest.fail.Exception(
            "/dev/null is no longer a character device after this test: something wrote "
            "a file over it (an output path that should have been refused as a device)",
            pytrace=False))


def _dev_null_is_a_device() -> bool:
    """True unless /dev/null was replaced by a regular file (it was, once, during a day
    of test runs on this machine; every later `> /dev/null` then wrote a file)."""
    try:
        return stat.S_ISCHR(os.stat(os.devnull).st_mode)
    except OSError:
        return False


pytest_runtest_setup = pytest.hookimpl(hookwrapper=True)(_guard_processes)
pytest_runtest_call = pytest.hookimpl(hookwrapper=True)(_guard_processes)


def convcli_modules() -> set[str]:
    """Every module of the package, by name."""
    out = set()
    for path in (ROOT / "convcli").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def unreached(reached: set[str]) -> list[str]:
    """The modules of convcli that `reached` lacks, less UNREACHABLE's."""
    return sorted(convcli_modules() - set(reached) - set(UNREACHABLE))


def _reached_here(session) -> set[str]:
    state = session.config._fast_loop
    reached = set(state["reached"])
    files = {item.path: item.module for item in session.items
             if item.get_closest_marker("slow") is None}
    for path, module in files.items():
        reached |= state["imported_by"].get(str(path), set())
        for value in vars(module).values():
            name = getattr(value, "__module__", None) or getattr(value, "__name__", "")
            if isinstance(name, str) and name.startswith("convcli"):
                reached.add(name)
    return reached


def _whole_run(session) -> bool:
    """A run of every file (no paths, -k, --lf, --deselect, -x stop) reaches what the
    loop reaches; a part of the suite cannot be asked to."""
    c = session.config
    return (c.args_source == pytest.Config.ArgsSource.TESTPATHS and not c.option.keyword
            and c.option.markexpr in ("", "not slow") and not c.option.collectonly
            and not c.getoption("deselect", None) and not c.getoption("lf", False)
            and not session.shouldstop and not session.shouldfail)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    out = getattr(node, "workeroutput", {})
    state = node.config._fast_loop
    state.setdefault("workers", []).append(set(out.get("convcli_reached", ())))
    state["cpu"] += [tuple(x) for x in out.get("convcli_cpu", ())]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    state = session.config._fast_loop
    if hasattr(session.config, "workerinput"):          # an xdist worker: report up
        session.config.workeroutput["convcli_reached"] = sorted(_reached_here(session))
        session.config.workeroutput["convcli_cpu"] = state["cpu"]
        return
    workers = state.get("workers")
    reached = set().union(*workers) if workers else _reached_here(session)
    if not _whole_run(session) or session.testscollected == 0 and not workers:
        return
    missing = unreached(reached)
    state["missing"] = missing
    if missing and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config._fast_loop
    if state.get("missing"):
        terminalreporter.section("modules no fast test reaches", red=True)
        terminalreporter.write_line(
            "no test of the fast loop imports these modules of convcli (tests/conftest.py): "
            "give each one a test that is not slow")
        for name in state["missing"]:
            terminalreporter.write_line(f"  {name}")
    if state["cpu"]:
        terminalreporter.section(f"fast tests over {SLOW_CPU_S:g} s of CPU")
        terminalreporter.write_line("make them cheaper, or sample their grid (tests/conftest.py, "
                                    "rule 3)")
        for took, nodeid in sorted(state["cpu"], reverse=True)[:20]:
            terminalreporter.write_line(f"  {took:6.2f} s  {nodeid}")
