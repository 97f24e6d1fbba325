"""Every module of convcli has a test of its own: some test file imports it by name
(issue 23: half the modules were reached only through the CLI or other modules, so a
test that failed there named a command, not the module at fault). Packages
(``__init__``) and ``__main__`` (``python -m convcli``, run by the CLI tests) are the
exceptions."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules() -> list[str]:
    out = []
    for path in sorted((ROOT / "convcli").rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        out.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return out


def imported_by_name(module: str, text: str) -> bool:
    """``from convcli.a.b import x``, ``import convcli.a.b``, ``from convcli.a import b``
    (alone or in a list), or a string naming it for importlib/monkeypatch."""
    package, _, leaf = module.rpartition(".")
    m, p, leaf = re.escape(module), re.escape(package), re.escape(leaf)
    return re.search(rf"(from\s+{m}\s+import\b|import\s+{m}\b|"
                     rf"from\s+{p}\s+import\s+\(?[^)\n]*(\n[^)\n]*)*?\b{leaf}\b|"
                     rf"[\"']{m}[\"'.])", text) is not None


def test_every_module_is_imported_by_a_test_of_its_own():
    tests = [p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py")
             if p.name != Path(__file__).name]
    # file by file, and only where the module's last name occurs at all: the pattern's
    # import-list branch is costly (1.3 s of the fast loop over the joined text)
    missing = [m for m in modules() if not any(
        imported_by_name(m, text) for text in tests if m.rpartition(".")[2] in text)]
    assert missing == [], f"{len(missing)} modules no test imports by name: {missing}"


def test_the_check_can_fail():
    assert imported_by_name("convcli.engine.npy", "from convcli.engine.npy import read\n")
    assert imported_by_name("convcli.engine.npy", "from convcli.engine import (conv_run,\n"
                                                  "    npy)\n")
    assert imported_by_name("convcli.cli.fast_path", "import convcli.cli.fast_path as fast\n")
    assert not imported_by_name("convcli.engine.npy", "from convcli.engine.npyx import read\n")
    assert not imported_by_name("convcli.engine.npy", "convcli run x.npy\n")
    assert len(modules()) > 100 and "convcli.calculator.spec" in modules()
