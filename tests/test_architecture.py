"""The layout's rules, checked on the source (docs/architecture.md):

* imports flow one way: cli -> views -> engine -> network -> calculator -> base
  (errors, formatting, files, process); type-only imports under TYPE_CHECKING are
  exempt;
* the calculator, the network and the base import nothing outside the standard
  library; nothing below cli imports typer; nothing below views imports rich;
  torch and numpy are imported inside functions only;
* no import cycle anywhere in the package;
* no module over 400 lines, no function over 80 lines.

Each rule is also run on a planted violation, so that the test can fail.
"""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "convcli"
RANKS = {"base": 0, "calculator": 1, "network": 2, "engine": 3, "views": 4, "cli": 5,
         "entry": 6}
BASE = {"errors", "formatting", "files", "process"}
PURE = {"base", "calculator", "network"}
HEAVY = {"torch", "numpy", "matplotlib"}   # imported inside functions only
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    target: str          # dotted module name as written (resolved for convcli)
    line: int
    in_function: bool
    type_only: bool


def world(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__init__", "__main__", "main"):
        return "entry"
    if parts[1] in BASE:
        return "base"
    return parts[1]


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports_of(source: str, module: str, package_modules: set[str]) -> list[Import]:
    """Every import in ``source``; ``from convcli.x import y`` resolves to module
    convcli.x.y when that is a module, else to convcli.x."""
    return list(_imports_of(source, module, frozenset(package_modules)))


@functools.lru_cache(maxsize=None)
def _imports_of(source: str, module: str, package_modules: frozenset) -> tuple:
    """imports_of, read once per text (the planted-violation tests read the package
    again with one module changed)."""
    found: list[Import] = []

    def visit(node, in_function: bool, type_only: bool):
        for child in ast.iter_child_nodes(node):
            fn = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.Lambda))
            to = type_only or (isinstance(child, ast.If) and _is_type_checking(child))
            if isinstance(child, ast.Import):
                for a in child.names:
                    found.append(Import(a.name, child.lineno, fn, to))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for a in child.names:
                    full = f"{child.module}.{a.name}"
                    target = full if full in package_modules else child.module
                    found.append(Import(target, child.lineno, fn, to))
            visit(child, fn, to)

    visit(ast.parse(source), False, False)
    return tuple(found)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_sources() -> dict[str, str]:
    return {module_name(p): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}


def violations(sources: dict[str, str]) -> list[str]:
    """Direction and third-party rules for every module in ``sources``."""
    known = set(sources)
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    out = []
    for module, source in sources.items():
        mine = world(module)
        for imp in imports_of(source, module, known):
            top = imp.target.split(".")[0]
            where = f"{module} line {imp.line}: imports {imp.target}"
            if top == "convcli":
                if imp.type_only or imp.target == "convcli" or mine == "entry":
                    continue
                theirs = world(imp.target)
                if theirs == "entry":
                    out.append(f"{where} (the entry points are imported by nobody)")
                elif RANKS[theirs] > RANKS[mine]:
                    out.append(f"{where} ({mine} may not import {theirs})")
                continue
            if mine in PURE and top not in stdlib:
                out.append(f"{where} ({mine} is standard library only)")
            if top == "typer" and mine not in ("cli", "entry"):
                out.append(f"{where} (typer belongs to the cli world)")
            if top == "rich" and RANKS[mine] < RANKS["views"]:
                out.append(f"{where} (rich belongs to views and cli)")
            if top in HEAVY and not imp.in_function and not imp.type_only:
                out.append(f"{where} ({top} only inside functions)")
    return out


def cycles(sources: dict[str, str]) -> list[list[str]]:
    """Import cycles among the modules (runtime imports, at any depth)."""
    known = set(sources)
    graph = {m: sorted({i.target for i in imports_of(s, m, known) if not i.type_only
                        and i.target in known and i.target != m})
             for m, s in sources.items()}
    found, state = [], {}

    def dfs(node, path):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt, path + [nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m, [m])
    return found


def too_long(sources: dict[str, str]) -> list[str]:
    out = []
    for module, source in sources.items():
        n = len(source.splitlines())
        if n > MAX_MODULE_LINES:
            out.append(f"{module}: {n} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{module}.{node.name}: {length} lines "
                               f"(at most {MAX_FUNCTION_LINES})")
    return out


# ---- the package -----------------------------------------------------------------

def test_imports_flow_one_way():
    assert violations(package_sources()) == []


def test_no_import_cycle():
    assert cycles(package_sources()) == []


def test_modules_and_functions_are_short():
    assert too_long(package_sources()) == []


def test_every_folder_is_a_world():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(RANKS) - {"base", "entry"}
    loose = {p.stem for p in PACKAGE.glob("*.py")} - BASE - {"__init__", "__main__", "main"}
    assert loose == set(), f"modules outside the worlds: {loose}"


def test_the_tree_in_the_docs_is_the_tree():
    """docs/architecture.md opens with the tree, one line per file (two spaces of
    indent per folder level), each with what it holds."""
    block = (ROOT / "docs" / "architecture.md").read_text().split("```")[1]
    files, folders = set(), []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        name, _, what = line.strip().partition(" ")
        depth = (len(line) - len(line.lstrip(" "))) // 2
        folders = folders[:depth]
        assert what.strip(), f"{name} has no description in docs/architecture.md"
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
        else:
            files.add("/".join(folders[1:] + [name]))
    on_disk = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert files == on_disk


# ---- the rules can fail -------------------------------------------------------------

@pytest.mark.parametrize("module, source, words", [
    ("convcli.calculator.spec", "import rich\n", "standard library only"),
    ("convcli.calculator.spec", "from convcli.views.console import error\n",
     "calculator may not import views"),
    ("convcli.network.walk", "from convcli.engine.conv_run import run\n",
     "network may not import engine"),
    ("convcli.engine.conv_run", "import torch\n", "torch only inside functions"),
    ("convcli.engine.conv_run", "import typer\n", "typer belongs to the cli world"),
    ("convcli.engine.conv_run", "def f():\n    from rich.text import Text\n",
     "rich belongs to views and cli"),
    ("convcli.views.net_view", "from convcli.cli.app import app\n", "views may not import cli"),
])
def test_planted_violations_are_found(module, source, words):
    sources = {**package_sources(), module: source}
    found = [v for v in violations(sources) if v.startswith(module)]
    assert any(words in v for v in found), found


def test_type_only_imports_are_exempt_and_functions_may_import_torch():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from convcli.engine.conv_run import Plan\n"
              "def f():\n    import torch\n    return torch\n")
    sources = {**package_sources(), "convcli.calculator.spec": source.replace(
        "    import torch\n", "    import math\n"), "convcli.engine.conv_run": source}
    assert [v for v in violations(sources)
            if v.startswith(("convcli.calculator.spec ", "convcli.engine.conv_run "))] == []


def test_a_planted_cycle_is_found():
    sources = {**package_sources(),
               "convcli.calculator.ints": "from convcli.calculator.spec import ConvSpec\n"}
    assert any("convcli.calculator.ints" in c for c in cycles(sources))


def test_a_long_function_is_found():
    body = "def f():\n" + "    x = 1\n" * 90
    assert too_long({"convcli.calculator.x": body}) == [
        "convcli.calculator.x.f: 91 lines (at most 80)"]
