"""The fast path (cli/fast_path.py) against Typer: the same option table; for every argv it
answers, the same exit code, stdout and stderr, byte for byte, and for every argv it
hands back, nothing written; no typer or rich where it promises none; a --help cache
that replays Typer's own output and notices what changes it."""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import sys

import pytest
import typer.main

from conftest import ROOT, examples, read_pty, run_subprocess
from convcli.calculator.random_cases import random_case
from convcli.cli import app, fast_path as fast


@pytest.mark.parametrize("name", fast.COMMANDS)
def test_the_table_is_what_typer_builds(name):
    command = typer.main.get_command(app).commands[name]
    positionals, options = fast.command_table(name)
    table = {o.name: o for o in options}
    wanted = dict(positionals)
    left = set(fast.LEFT_TO_TYPER[name])
    # what the parser assumes of the command: options between positionals, no extras
    assert command.allow_interspersed_args and not command.allow_extra_args
    assert not command.ignore_unknown_options
    for p in command.params:
        if p.hidden:            # an old spelling: Typer's, with its note
            assert not {d for o in options for d in o.decls} & set(p.opts), p.name
            continue
        if p.name in left:      # Typer's alone: the fast path hands back any argv naming it
            left.remove(p.name)
            assert p.param_type_name == "option", p.name
            assert fast.parse(["net", "1x3x8x8", p.opts[0], "x"]) is None, p.name
            table.pop(p.name)
            continue
        # values reach the body as the strings typed: no conversion, callback, envvar
        assert p.nargs == 1 and p.envvar is None and p.callback is None
        if p.param_type_name == "argument":
            assert (p.required, p.default, p.multiple) == (wanted.pop(p.name), None, False)
            assert p.type.name == "str", p.name
            continue
        o = table.pop(p.name)
        assert (set(o.decls), set(o.secondary)) == (set(p.opts), set(p.secondary_opts))
        assert (o.flag, o.default, o.required) == (p.is_flag, p.default, p.required), p.name
        assert o.multiple == p.multiple, p.name
        assert p.type.name == ("boolean" if o.flag else "str"), p.name
    assert table == {} and wanted == {}, "the fast path knows options Typer does not"
    assert left == set(), "LEFT_TO_TYPER names options the command does not have"


@pytest.mark.parametrize("option", ["--file", "-f", "--train", "--optimizer", "--rf",
                                    "--field", "--at", "--png", "--svg"])
def test_net_leaves_files_stdin_train_and_fields_to_typer(option):
    """An argv naming one of LEFT_TO_TYPER's options is handed back in any form."""
    base = ["net", "1x3x8x8", "Conv2d(3, 4, 3)"]
    assert fast.parse(base) is not None
    value = [] if option in ("--train", "--rf") else ["x"]
    for argv in (base + [option] + value, [base[0], option, *value, *base[1:]],
                 base + [f"{option}={value[0]}"] if value else base + [option, "--json"]):
        assert fast.parse(argv) is None, argv


def _tup(rng, value) -> str:
    if isinstance(value, tuple):
        return rng.choice([",", "x"]).join(map(str, value))
    return str(value)


def _opt(rng, long: str, short: str | None, value: str) -> list[str]:
    form = rng.random()
    if short and form < 0.4:
        return [short, value]
    return [long, value] if form < 0.7 else [f"{long}={value}"]


def _conv_argv(rng, command: str) -> list[str]:
    """A random layer as a user types it: short, long and --name=value forms, flags,
    INPUT anywhere between the options."""
    case = random_case(rng)
    a = case.args
    out = _opt(rng, "--out-channels", "-o", str(a["out_channels"]))
    out += _opt(rng, "--kernel-size", "-k", _tup(rng, a["kernel_size"]))
    for name, short, p in (("stride", "-s", 0.7), ("padding", "-p", 0.7),
                           ("dilation", "-d", 0.5), ("output_padding", None, 0.5),
                           ("padding_mode", None, 0.5), ("groups", "-g", 0.6)):
        if name in a and rng.random() < p:
            out += _opt(rng, "--" + name.replace("_", "-"), short, _tup(rng, a[name]))
    if not a["bias"]:
        out.append("--no-bias")
    elif rng.random() < 0.1:
        out.append("--bias")
    if a["transposed"]:
        out.append(rng.choice(["-t", "--transposed"]))
    if rng.random() < 0.15:
        out += _opt(rng, "--dims", None, str(a["dims"]))
    if rng.random() < 0.3:
        out += _opt(rng, "--in-channels", "-i", str(a["in_channels"]))
    if rng.random() < 0.2:
        out += ["--dtype", rng.choice(["float16", "bfloat16", "float64", "int8"])]
    if rng.random() < 0.3:
        out.append("--json")
    shape = "x".join(map(str, case.input_shape))
    if command == "shape":
        if rng.random() < 0.3:
            out.append(rng.choice(["--explain", "-e"]))
        if rng.random() < 0.05:
            out += ["--padding-from", rng.choice(["tf", "keras", "onnx", "caffe"])]
        out.insert(rng.choice(_gaps(out)), shape)   # never between an option and its value
    else:
        if rng.random() < 0.05:
            out += ["--input", shape]   # the old spelling: Typer's, with its note
        elif rng.random() < 0.6:
            out.insert(rng.choice(_gaps(out)), shape)
        if rng.random() < 0.2:
            out.append("--compare-groups")
        if rng.random() < 0.1:
            out.append("--conventions")
    return [command] + out


FLAGS = ("--no-bias", "--bias", "-t", "--transposed", "--json", "--explain", "-e",
         "--compare-groups", "--conventions")


def _gaps(argv: list[str]) -> list[int]:
    """Where a positional can go: not between an option and its value."""
    gaps, expect = [0], False
    for i, token in enumerate(argv):
        if expect:
            expect = False
        elif token.startswith("-") and "=" not in token and token not in FLAGS:
            expect = True
        if not expect:
            gaps.append(i + 1)
    return gaps


MUTATIONS = [
    lambda a: a + ["--bogus"], lambda a: a + ["-h"], lambda a: a + ["--help"],
    lambda a: a + ["--"], lambda a: a + ["extra"], lambda a: a + ["-p", "-1"],
    lambda a: a + ["--dims", "4"], lambda a: a + ["--dims", "\u0662"],
    lambda a: a + ["--json=1"], lambda a: a + ["-o", ""], lambda a: a + ["-o16"],
    lambda a: a + ["-k"], lambda a: [x for x in a if x not in ("-k", "--kernel-size")],
    lambda a: a + ["-te"], lambda a: a + ["-o", "8"], lambda a: a + ["--no-bias", "--bias"],
    lambda a: a[:1] + ["--version"] + a[1:], lambda a: ["--json"] + a,
    lambda a: a + ["-"], lambda a: a + ["--dtype"], lambda a: a + ["--in-channels="],
    lambda a: [a[0].upper()] + a[1:], lambda a: a + ["--padding-mode", "REFLECT"],
]


def argvs(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a = _conv_argv(rng, rng.choice(["shape", "params"]))
        if rng.random() < 0.25:
            a = rng.choice(MUTATIONS)(a)
        out.append(a)
    return out + [["shape"], ["params"], ["shape", "4x3x8x8"], ["params", "-o", "4", "-k", "3"],
                  ["shape", "4x3x8x8", "-o", "4", "-k", "3", "--padding-from", "tf", "-p",
                   "SAME"], ["params", "-i", "8", "-o", "8", "-k", "3", "-g", "8",
                             "1x8x4x4", "--conventions", "--compare-groups"]]


def _captured(call) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = call()
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def _against_typer(all_argv: list[list[str]]) -> tuple[int, int]:
    """(answered, handed back): for each argv the fast path answers, its exit code,
    stdout and stderr equal Typer's; when it hands argv back, it has written nothing,
    and an argv it parsed is handed back only for Typer to report an error."""
    answered = handed_back = 0
    for argv in all_argv:
        fast_result = _captured(lambda: fast.answer(list(argv)))
        if fast_result[0] is None:
            handed_back += 1
            assert fast_result[1:] == ("", ""), argv
            if fast.parse(list(argv)) is not None:
                code = _captured(lambda: app(args=list(argv), prog_name="convcli"))[0]
                assert code not in (0, None), argv
            continue
        answered += 1
        typer_result = _captured(lambda: app(args=list(argv), prog_name="convcli"))
        assert fast_result == typer_result, argv
    return answered, handed_back


def test_the_fast_path_prints_what_typer_prints(monkeypatch):
    """Random and adversarial argv of shape and params, in one process."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv(fast.HELP_CACHE_ENV, "0")
    n = examples(260, fast=60)      # rule 3 (tests/conftest.py): random cases
    answered, handed_back = _against_typer(argvs(n, seed=14))
    # both sides are exercised: most well-formed argv are answered, the odd ones not
    assert answered > 0.3 * n and handed_back > 0.3 * n, (answered, handed_back)


def test_errors_are_handed_back_and_typer_reports_them(sh):
    """An impossible conv on the fast path: nothing printed there, Typer's command
    reports it (one line, exit 2), as a whole process."""
    r = sh("shape", "4x3x64x64", "-o", "16", "-k", "3", "-g", "5")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("Error: groups=5") and len(r.stderr.splitlines()) == 1


# ---- net: random stacks as people paste them, and what goes wrong -----------------


def _net_layers(rng) -> tuple[list[int], list[tuple[str, str]], dict]:
    """A stack that mostly fits its input: (input shape, (call, print(model) form) per
    layer, the --set names the calls use)."""
    n, c, h = rng.choice([1, 2, 4]), rng.choice([1, 3, 8]), rng.choice([5, 8, 16, 32])
    shape, layers, names = [n, c, h, h], [], {}
    for i in range(rng.randint(1, 9)):
        pick = rng.random()
        if pick < 0.4:
            out, k, s = rng.choice([4, 8, 16]), rng.choice([1, 3, 5]), rng.choice([1, 2])
            p = rng.choice([0, k // 2])
            if h + 2 * p < k:
                continue
            written = str(out)
            if rng.random() < 0.3:
                names[f"ch{i}"] = out
                written = f"ch{i}" if out % 2 else f"ch{i} // 2 * 2"
            call = rng.choice([f"Conv2d({c}, {written}, {k}, stride={s}, padding={p})",
                               f"Conv2d({c}, {written}, {k}, {s}, {p})",
                               f"Conv2d(in_channels={c}, out_channels={written}, "
                               f"kernel_size=({k}, {k}), stride={s}, padding={p})"])
            printed = f"Conv2d({c}, {out}, kernel_size=({k}, {k}), stride=({s}, {s})" + (
                f", padding=({p}, {p}))" if p else ")")
            c, h = out, (h + 2 * p - k) // s + 1
        elif pick < 0.55:
            call, printed = f"BatchNorm2d({c})", (f"BatchNorm2d({c}, eps=1e-05, momentum=0.1, "
                                                  "affine=True, track_running_stats=True)")
        elif pick < 0.75:
            call = rng.choice(["ReLU()", "ReLU(inplace=True)", "GELU()", "SiLU()"])
            printed = call
        elif pick < 0.85 and h >= 2:
            call = "MaxPool2d(2)"
            printed = "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
            h //= 2
        elif pick < 0.92 and c % 2 == 0:
            call, printed = f"GroupNorm(2, {c})", f"GroupNorm(2, {c}, eps=1e-05, affine=True)"
        else:
            call, printed = "Dropout(0.1)", "Dropout(p=0.1, inplace=False)"
        layers.append((call, printed))
    if rng.random() < 0.6:
        features = rng.choice([c, c, c + 1])    # now and then the Linear does not fit
        layers += [("AdaptiveAvgPool2d(1)", "AdaptiveAvgPool2d(output_size=1)"),
                   ("Flatten()", "Flatten(start_dim=1, end_dim=-1)"),
                   (f"Linear({features}, 10)",
                    f"Linear(in_features={features}, out_features=10, bias=True)")]
    return shape, layers, names


def _net_text(rng, layers: list[tuple[str, str]], names: dict) -> str:
    """The layers as calls (separators, nn. prefixes, comments, a Sequential around
    them) or, when no name needs --set, as print(model) shows them."""
    if not names and rng.random() < 0.25:
        body = "".join(f"  ({i}): {printed}\n" for i, (_, printed) in enumerate(layers))
        return f"Sequential(\n{body})"
    prefix = rng.choice(["", "nn.", "torch.nn."])
    sep = rng.choice([", ", ",", ",\n", "\n", ",  # a comment\n    "])
    text = sep.join(prefix + call for call, _ in layers)
    return f"nn.Sequential(\n    {text}\n)" if rng.random() < 0.2 else text


def _net_argv(rng) -> list[str]:
    """INPUT and LAYERS in order, the options (--set in one or several, --dtype,
    --json, long and = forms) anywhere between them."""
    shape, layers, names = _net_layers(rng)
    groups: list[list[str]] = []
    items = [f"{k}={v}" for k, v in names.items()]
    while items:                                # one --set or several
        k = rng.randint(1, len(items))
        take, items = items[:k], items[k:]
        groups.append(["--set", ",".join(take)] if rng.random() < 0.7
                      else [f"--set={','.join(take)}"])
    if rng.random() < 0.2:
        groups.append(["--dtype", rng.choice(["float16", "bfloat16", "float64", "int8"])])
    if rng.random() < 0.1:
        groups.append([f"--dtype={rng.choice(['float32', 'float16'])}"])
    if rng.random() < 0.4:
        groups.append(["--json"])
    rng.shuffle(groups)
    first, second = sorted(rng.randint(0, len(groups)) for _ in range(2))
    groups.insert(second, [_net_text(rng, layers, names)])    # LAYERS after INPUT
    groups.insert(first, [rng.choice(["x", ","]).join(map(str, shape))])
    return ["net"] + [t for g in groups for t in g]


def _layers_at(argv: list[str]) -> int:
    return next(i for i, t in enumerate(argv) if "(" in t)


NET_MUTATIONS = [
    lambda a: a[:_layers_at(a)] + a[_layers_at(a) + 1:], lambda a: a + ["--bogus"],
    lambda a: a + ["Conv2d(3, 4, 3)"],                  # a third positional
    lambda a: a + ["--set", "nope"], lambda a: a + ["--set", "k=("],
    lambda a: a + ["--set", "1k=2"], lambda a: a + ["--set"], lambda a: a + ["--set="],
    lambda a: a + ["--dtype", "int3"], lambda a: a + ["--dtype"], lambda a: a + ["--json=1"],
    lambda a: a + ["--train"], lambda a: a + ["--rf"], lambda a: a + ["--optimizer", "sgd"],
    lambda a: a + ["--file", "layers.txt"], lambda a: a + ["-f", "-"],
    lambda a: a + ["--field", "1"], lambda a: a + ["--png", "x.png"],
    lambda a: a + ["-h"], lambda a: a + ["--"], lambda a: ["NET"] + a[1:],
    lambda a: a[:1] + ["--version"] + a[1:],
]
BAD_LAYERS = ["Conv2d(999, 4, 3)", "Frobnicate(2)", "conv2d(3, 4, 3)", "Conv2d(3, 4",
              "print('hi')", "__import__('os').system('true')", "Linear(7, 2)",
              "Conv2d(3, 4, 3, padding='same', stride=2)", "MaxPool2d(99)", "ReLU(),,",
              "Conv2d(3, 4, -1)", "Conv2d(3, 4, 3, bogus=1)", "", "-", "Conv2d(3, ngf, 3)"]


def net_argvs(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a = _net_argv(rng)
        roll = rng.random()
        if roll < 0.2:
            a = rng.choice(NET_MUTATIONS)(a)
        elif roll < 0.35:      # a bad layer among good ones, or instead of them
            at, bad = _layers_at(a), rng.choice(BAD_LAYERS)
            a[at] = bad if rng.random() < 0.3 else a[at].rstrip(")\n") + "), " + bad
        out.append(a)
    return out + [["net"], ["net", "1x3x8x8"], ["net", "1x3x8x8", "ReLU()", "--set", "a=1",
                                                "--set", "b=(3, 3)", "--json"],
                  ["net", "--json", "--dtype", "float16", "2x3x8x8", "Conv2d(3, 4, 3)"],
                  ["net", "-1x3x8x8", "ReLU()"], ["net", "1x3x8x8", "-"],
                  ["net", "1x3x8x8", "Conv2d(3, ngf, 3)", "--set", "ngf=4", "--set", "ngf=8"]]


def test_net_on_the_fast_path_prints_what_typer_prints(monkeypatch):
    """Random stacks (calls, prefixes, comments, print(model) text, --set names) and
    adversarial ones (bad layers, bad --set, options Typer keeps), in one process."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv(fast.HELP_CACHE_ENV, "0")
    n = examples(200, fast=40)      # rule 3 (tests/conftest.py): random cases
    answered, handed_back = _against_typer(net_argvs(n, seed=11))
    assert answered > 0.4 * n and handed_back > 0.25 * n, (answered, handed_back)


TYPER_ONLY = ("import sys; import convcli.cli.fast_path as fast; fast.answer = lambda argv: None; "
              "from convcli.main import main; sys.argv[0] = 'convcli'; main()")


def _typer_process(*argv: str, env: dict | None = None):
    full = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1",
            **(env or {})}
    full.pop("CONVCLI_DEBUG", None)
    p = subprocess.run([sys.executable, "-c", TYPER_ONLY, *argv], capture_output=True,
                       text=True, env=full, cwd=ROOT, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("argv", [
    ["shape", "4x3x64x64", "-o", "16", "-k", "3", "--explain"],
    ["params", "-i", "64", "-o", "128", "-k", "3", "-g", "4", "--compare-groups", "--json"],
    ["params", "-o", "128", "-k", "3"],       # -i is required without --input: Typer
    ["net", "1x3x32x32", "Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), "
                         "Linear(4096, 10)"],
    ["net", "--json", "1x3x8x8", "Conv2d(3, ngf, 3)", "--set", "ngf=4"],
    ["net", "1x3x8x8", "Conv2d(4, 3, 3)"],     # the layer does not fit: Typer's error
])
def test_as_processes_the_console_script_prints_what_typer_prints(argv):
    r = run_subprocess(*argv)
    assert (r.exit_code, r.stdout, r.stderr) == _typer_process(*argv)


def _modules_after(*argv: str, env: dict | None = None) -> set[str]:
    """The top-level packages loaded when main() ends (reported from os._exit)."""
    code = ("import os, sys\nleave = os._exit\n"
            "def report(code):\n"
            "    sys.stderr.write('MODULES=' + ','.join(sorted({m.split('.')[0] for m in "
            "sys.modules})))\n    sys.stderr.flush()\n    leave(code)\n"
            "os._exit = report\nsys.argv = ['convcli', *sys.argv[1:]]\n"
            "from convcli.main import main\nmain()\n")
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full.pop("CONVCLI_DEBUG", None)
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                       env=full, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    return set(p.stderr.rpartition("MODULES=")[2].split(","))


def test_json_imports_neither_typer_nor_rich_and_tables_no_typer():
    loaded = _modules_after("shape", "4x3x8x8", "-o", "4", "-k", "3", "--json")
    assert {"typer", "rich", "click", "pydantic"} & loaded == set()
    loaded = _modules_after("params", "-i", "4", "-o", "4", "-k", "3")
    assert "rich" in loaded and "typer" not in loaded
    loaded = _modules_after("net", "1x3x8x8", "Conv2d(3, 4, 3), ReLU()", "--json")
    assert {"typer", "rich", "click", "pydantic"} & loaded == set()
    loaded = _modules_after("net", "1x3x8x8", "Conv2d(3, 4, 3), ReLU()")
    assert "rich" in loaded and "typer" not in loaded


def test_typer_builds_only_the_command_it_runs():
    """The lazy group: `net` (which Typer answers) imports net_summary_commands.py, not the modules
    of the other commands."""
    code = ("import sys; from convcli.cli import app\n"
            "try:\n    app(['net', '1x3x8x8', 'Conv2d(3, 4, 3)'], prog_name='convcli')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('convcli.cli.')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)
    loaded = eval(p.stdout.strip().splitlines()[-1])
    assert "convcli.cli.net_summary_commands" in loaded
    assert not {"convcli.cli.conv_commands", "convcli.cli.show_solve_commands", "convcli.cli.run_command",
                "convcli.cli.verify_command"} & set(loaded)


def test_the_lazy_group_knows_every_command_and_its_module():
    """A command registered with @app.command() but missing from app.COMMANDS would be
    invisible; one listed under the wrong module would never be built."""
    import importlib

    from convcli.cli.app import COMMANDS

    for module in set(COMMANDS.values()):
        importlib.import_module(f"convcli.cli.{module}")
    where = {(c.name or c.callback.__name__): c.callback.__module__
             for c in app.registered_commands}
    assert where == {name: f"convcli.cli.{module}" for name, module in COMMANDS.items()}
    assert typer.main.get_command(app).list_commands(None) == list(COMMANDS)


# ---- the --help cache ------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["shape", "--help"], ["net", "-h"]])
def test_help_from_the_cache_is_typers_help(tmp_path, argv):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    typer_out = _typer_process(*argv, env=env)
    assert not tmp_path.joinpath("convcli").exists()     # Typer alone caches nothing
    first, second = run_subprocess(*argv, env=env), run_subprocess(*argv, env=env)
    assert (first.exit_code, first.stdout, first.stderr) == typer_out
    assert (second.exit_code, second.stdout, second.stderr) == typer_out
    assert len(list(tmp_path.joinpath("convcli").iterdir())) == 1
    # a hit (of this kind of process: sys.path is in the key) loads neither typer nor rich
    probe = {**env, "COLUMNS": "80", "NO_COLOR": "1"}
    assert {"typer", "rich"} <= _modules_after(*argv, env=probe)
    assert not {"typer", "rich"} & _modules_after(*argv, env=probe)
    # another terminal width is another key: Typer's output for that width
    wide = run_subprocess(*argv, env={**env, "COLUMNS": "100"})
    assert (wide.exit_code, wide.stdout, wide.stderr) == _typer_process(
        *argv, env={**env, "COLUMNS": "100"})
    assert wide.stdout != first.stdout


def test_the_help_cache_can_be_turned_off_and_keeps_no_failure(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert run_subprocess("--help", env={**env, fast.HELP_CACHE_ENV: "0"}).exit_code == 0
    bad = run_subprocess("nosuchcommand", "--help", env=env)
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: No such command")
    assert not tmp_path.joinpath("convcli").exists()


def test_a_changed_file_or_key_is_a_miss(tmp_path):
    """The cache file names the files its text came from (size and mtime): when one
    changes, or the key differs, the text is not served."""
    source = tmp_path / "cli.py"
    source.write_text("help = 'one'\n")
    cache = tmp_path / "help-x.txt"
    text = "Usage: THE HELP\n"
    cache.write_text(f"KEY\n{fast._stat(str(source))}\n{fast._digest(text)}\n{text}")
    assert fast._read_cache(str(cache), "KEY") == text
    assert fast._read_cache(str(cache), "OTHER KEY") is None
    source.write_text("help = 'two, longer'\n")
    assert fast._read_cache(str(cache), "KEY") is None
    source.unlink()
    assert fast._read_cache(str(cache), "KEY") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pty, as on Linux")
@pytest.mark.parametrize("argv", [["shape", "4x3x8x8", "-o", "4", "-k", "3"],
                                  ["net", "1x3x8x8", "Conv2d(3, 4, 3), ReLU()"],
                                  ["shape", "--help"]])
def test_on_a_colour_terminal_the_bytes_are_typers(tmp_path, argv):
    """On a terminal (colours, the terminal's own width), the fast path and the cached
    help print what Typer prints."""
    env = {"XDG_CACHE_HOME": str(tmp_path), "TERM": "xterm-256color"}
    typer_out = _on_a_tty([sys.executable, "-c", TYPER_ONLY, *argv], env)
    assert "\x1b[" in typer_out[1]
    for _ in range(2):      # for --help: a miss, then a hit
        assert _on_a_tty([sys.executable, "-m", "convcli", *argv], env) == typer_out


def _on_a_tty(cmd: list[str], env: dict) -> tuple[int, str]:
    import fcntl
    import pty
    import struct
    import termios

    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS",
                                                             "CONVCLI_DEBUG")}
    full.update(PYTHONPATH=str(ROOT), **env)
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    p = subprocess.Popen(cmd, stdin=child, stdout=child, stderr=child, env=full, cwd=ROOT)
    os.close(child)
    out = read_pty(parent)
    return p.wait(timeout=60), out.decode()
