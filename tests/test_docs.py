"""Every console example in the README and in docs/ is real: each fenced block that
begins with `$ convcli` (```console or not) is a series of `$ convcli ...` commands, each followed by what it prints at 80 columns
(stdout, then stderr), and the test runs them and compares; a command that ends in
`< FILE` gets that file on its standard input. Commands written
`$ convcli ...  # timings: this machine` show measured figures: their lines with a
time, a speed, a memory size or a decimal number are not compared, the rest exactly.
`python -m pytest --update-goldens` rewrites the outputs in place (then read the
diff). A page makes the files its examples use: its ```python blocks that begin with
`# the files this page uses` run in the examples' folder first. The pages are also
checked for dead links to files in this repository."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# every fenced block that shows a command and its output, console or not
BLOCK = re.compile(r"```(?:console|text)?\n(\$ convcli.*?)```", re.S)
TIMING_MARK = "# timings: this machine"
# a line that shows a measured figure (a time, a speed, a memory peak, this machine's
# threads or free memory): its numbers are masked
TIMING = re.compile(r"\bms\b|GFLOP/s|\d s\b|\bpeak\b|median|speed-up|faster|slower|±|"
                    r"spread|≈|thread|MiB|GiB|KiB|TiB")


def _complete(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:      # a quoted argument goes on over the next line
        return False
    return True


def _commands(block: str) -> list[tuple[str, str]]:
    """[(command line, what it printed)] of one console block; a command whose quoted
    argument spans lines is one command."""
    out, command, lines = [], None, []
    for line in block.splitlines():
        if command is not None and not lines and not _complete(command):
            command += "\n" + line
        elif line.startswith("$ "):
            if command is not None:
                out.append((command, "".join(f"{x}\n" for x in lines)))
            command, lines = line[2:], []
        elif command is not None:
            lines.append(line)
    if command is not None:
        out.append((command, "".join(f"{x}\n" for x in lines)))
    return out


FILES_MARK = "# the files this page uses"
PYTHON = re.compile(r"```python\n(.*?)```", re.S)


def _workdir(tmp: Path, page: Path | None = None) -> Path:
    """The folder the examples run in: the repository's examples, and the files the
    page makes itself (its ```python blocks that begin with FILES_MARK, run here)."""
    (tmp / "examples").symlink_to(ROOT / "examples")
    (tmp / "tests").symlink_to(ROOT / "tests")     # models written for the tests
    if page is None:
        return tmp
    for code in PYTHON.findall(page.read_text(encoding="utf-8")):
        if code.startswith(FILES_MARK):
            pytest.importorskip("numpy")
            old = os.getcwd()
            os.chdir(tmp)
            try:
                exec(compile(code, f"{page.name}: files", "exec"), {})  # the page's own
            finally:
                os.chdir(old)
    return tmp


def _argv(command: str) -> list[str]:
    """The arguments after `convcli`; a line ending in a backslash goes on over the
    next one, as in a shell; a last `< FILE` is stdin's (``_stdin``), not an argument."""
    argv = shlex.split(command.split(TIMING_MARK)[0].replace("\\\n", " "))
    assert argv[0] == "convcli", command
    return argv[1:-2] if len(argv) > 2 and argv[-2] == "<" else argv[1:]


def _stdin(command: str, cwd: Path) -> bytes | None:
    """The bytes of the file a command's last `< FILE` names (in the examples' folder)."""
    argv = shlex.split(command.split(TIMING_MARK)[0].replace("\\\n", " "))
    return (cwd / argv[-1]).read_bytes() if len(argv) > 2 and argv[-2] == "<" else None


def _printed(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def _run_process(command: str, cwd: Path) -> str:
    """What the command prints run as a user runs it, in a process of its own: the
    figures of an example marked `# timings: this machine` (its time and its memory,
    not the test process's)."""
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "convcli", *_argv(command)],
                       capture_output=True, cwd=cwd, env=env, timeout=600,
                       input=_stdin(command, cwd) or b"")
    return _printed((r.stdout + r.stderr).decode())


def _run(command: str, cwd: Path) -> str:
    """What the command prints in an 80-column terminal without colour."""
    from typer.testing import CliRunner

    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = runner.invoke(app, _argv(command), input=_stdin(command, cwd),
                          catch_exceptions=False)
    finally:
        os.chdir(old)
    return _printed(r.stdout + r.stderr)


# paragraphs of a measured block that depend on what was measured: --tune's advice
# (which layout and dtype won) stands for "advice" (one must be there on both sides);
# run's note on widely spread timings comes and goes with the machine's load
_ADVICE = ("set: ",)
_MACHINE_NOTES = ("the timings spread widely",)


def _paragraphs_masked(lines: list[str]) -> list[str]:
    out: list[str] = []
    skipping = ""
    for line in lines:
        if skipping and line.startswith("  ") and line.strip():
            continue                       # the paragraph's wrapped lines
        if skipping == "note" and not line.strip():
            skipping = ""
            continue                       # and the blank line after a dropped note
        skipping = ""
        if line.startswith(_ADVICE):
            out.append("<advice>")
            skipping = "advice"
        elif line.startswith(_MACHINE_NOTES):
            skipping = "note"
        else:
            out.append(line)
    return out


def _masked(text: str) -> str:
    """A block of measured figures: every line that shows one (a unit of time, speed
    or memory, a decimal number, the fastest variant's mark) stands for "measured";
    --tune's advice for "advice"; run's note on a busy machine is left out."""
    def one(line: str) -> str:
        if TIMING.search(line) or re.search(r"\d\.\d|★|≈", line):
            return "<measured>"
        # a table's rules are as wide as its measured columns
        # (and wide: a header's words are padded to them)
        return re.sub(r" {2,}", "  ", re.sub(r"([━─═])\1+", r"\1\1", line.rstrip()))
    return "".join(one(line) + "\n" for line in _paragraphs_masked(text.splitlines()))


def _blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_console_examples_print_what_the_page_shows(page, request, tmp_path):
    blocks = _blocks(page)
    if not blocks:
        pytest.skip("no console example")
    if any("summary" in b or "run " in b or "verify" in b or "apply" in b
           or "--train" in b for b in blocks):
        pytest.importorskip("torch")
    cwd = _workdir(tmp_path, page)
    if request.config.getoption("--update-goldens"):
        def rewrite(m: re.Match) -> str:
            body = "".join(f"$ {c}\n{(_run_process if TIMING_MARK in c else _run)(c, cwd)}"
                           for c, _ in _commands(m.group(1)))
            return f"```console\n{body}```"
        page.write_text(BLOCK.sub(rewrite, page.read_text(encoding="utf-8")),
                        encoding="utf-8")
    for block in _blocks(page):
        for command, shown in _commands(block):
            got = _run(command, cwd)
            if TIMING_MARK in command:
                got, shown = _masked(got), _masked(shown)
            assert "unexpected extra argument" not in got and "no such file" not in got, (
                f"{page.name}: `{command}` does not run as written: {got}")
            assert got == shown, (f"{page.name}: `{command}` prints something else; after "
                                  "an intended change: python -m pytest --update-goldens")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_to_files_of_this_repository_exist(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def _json_tables() -> list[tuple[str, set[str]]]:
    """docs/json.md: (command(s) separated by ' ; ', the top-level keys its table
    lists)."""
    text = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    out = []
    for part in text.split("<!-- json: ")[1:]:
        command, _, rest = part.partition(" -->")
        keys: set[str] = set()
        for line in rest.split("\n\n|", 1)[-1].splitlines():
            if not line.startswith("| `"):
                if keys:
                    break
                continue
            first = line.split("|")[1]
            keys.update(k for k in re.findall(r"`([a-z_0-9]+)`", first))
        out.append((command.strip(), keys))
    return out


@pytest.mark.parametrize("command, keys", _json_tables(),
                         ids=lambda v: v.split()[1] if isinstance(v, str) else "keys")
def test_each_json_table_lists_exactly_the_keys_the_command_prints(command, keys):
    pytest.importorskip("torch")
    import json

    from convcli.views.jsonout import JSON_VERSION

    printed: set[str] = set()
    for one in command.split(" ; "):     # a table may hold the keys of several commands
        obj = json.loads(_run(one + " --json", ROOT))
        assert obj["version"] == JSON_VERSION, one
        printed |= set(obj)
    assert printed == keys, sorted(printed ^ keys)


def test_the_changelog_records_the_json_version_the_commands_print():
    from convcli.views.jsonout import JSON_VERSION

    changes = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = [int(v) for v in re.findall(r"^### JSON `version` (\d+)$", changes, re.M)]
    assert headings and headings[0] == JSON_VERSION, headings


def test_every_command_has_a_json_table():
    tables = " ".join(c for c, _ in _json_tables())
    for command in ("shape", "params", "show", "solve", "run", "verify", "net",
                    "summary", "apply"):
        assert f"convcli {command}" in tables or (command == "shape" and "params" in tables)


FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_block_that_shows_a_command_is_checked(page):
    """No output block escapes the comparison by its fence (docs/verify.md's did)."""
    text = page.read_text(encoding="utf-8")
    shown = [b for b in FENCE.findall(text) if b.startswith("$ ")]
    assert len(shown) == len(_blocks(page)), page.name


def test_a_page_makes_the_files_its_examples_use(tmp_path):
    cwd = _workdir(tmp_path, ROOT / "docs" / "run.md")
    used = set(re.findall(r"\b([\w-]+\.npy)\b", (ROOT / "docs" / "run.md").read_text()))
    made = {p.name for p in cwd.iterdir()}
    assert used - {"y.npy", "FILE.npy"} <= made, used - made      # y.npy: run --save


def test_measured_blocks_compare_what_does_not_depend_on_the_machine():
    shown = ("  time / call    median 0.3 ms\n\nset: run in bfloat16 (model.to(torch.bfloat16)\n"
             "  or torch.autocast)\n")
    other_winner = ("  time / call    median 9.1 ms\n\nthe timings spread widely: the middle\n"
                    "  half of the calls took ...\n\nset: model = model.to(memory_format=\n"
                    "  torch.channels_last)\n")
    assert _masked(shown) == _masked(other_winner)          # the advice's winner is measured
    assert _masked(shown) != _masked("  time / call    median 0.3 ms\n\n")   # not dropped
    assert _masked("  output         [4, 12, 62, 62]\n") != _masked(
        "  output         [4, 12, 62, 61]\n")
