"""docs/options.md, generated from the option table: every name with its one meaning
and the commands that take it, then each command's options with their defaults, then
the old spellings still accepted. ``python -m convcli.cli.option_docs`` prints it
(``--write`` rewrites docs/options.md); a test fails when the file differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from convcli.cli.command_options import COMMANDS, default_of
from convcli.cli.option_table import CONV_NAMES, OPTIONS, OptionDef

DOC = Path(__file__).resolve().parents[2] / "docs" / "options.md"


def _names(d: OptionDef) -> str:
    if d.kind == "argument":
        return f"`{d.decls[0]}` (positional)"
    return ", ".join(f"`{x}`" for decl in d.decls for x in decl.split("/"))


def commands_of(name: str) -> list[str]:
    """The commands that take ``name``, in --help order."""
    out = []
    for command, cmd in COMMANDS.items():
        conv = cmd.conv is not None and name in CONV_NAMES and name not in cmd.conv.exclude
        code = name == "code" and cmd.conv is not None and cmd.conv.code
        if conv or code or name in cmd.uses:
            out.append(command)
    return out


def _default(command: str, name: str) -> str:
    cmd = COMMANDS[command]
    if name == "code":
        return ""
    if name in CONV_NAMES:
        assert cmd.conv is not None
        if cmd.conv.required and name in ("out_channels", "kernel_size"):
            return "required"
        value = cmd.conv.defaults.get(name, OPTIONS[name].default)
    elif cmd.uses[name].required:
        return "required"
    else:
        value = default_of(command, name)
    if value is None or OPTIONS[name].kind == "multiple":
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\\[", "[")


def render() -> str:
    lines = ["# Options", "",
             "Generated from the option table (`convcli/cli/option_table.py`, "
             "`convcli/cli/command_options.py`) by `python -m convcli.cli.option_docs "
             "--write`; a test fails when this file and the table differ. Each name has one "
             "meaning on every command that takes it.", "",
             "## Every name", "",
             "| option | meaning | commands | values the shell completes |",
             "|---|---|---|---|"]
    for name, d in sorted(OPTIONS.items(), key=lambda kv: kv[1].decls[0].lstrip("-")):
        lines.append(f"| {_names(d)} | {_cell(d.meaning)} | {', '.join(commands_of(name))} "
                     f"| {', '.join(d.choices)} |")
    for command, cmd in COMMANDS.items():
        lines += ["", f"## convcli {command}", "", "| option | default | help |",
                  "|---|---|---|"]
        names = [n for n in CONV_NAMES if cmd.conv is not None and n not in cmd.conv.exclude]
        code = ["code"] if cmd.conv is not None and cmd.conv.code else []
        for name in [n for n in cmd.uses if OPTIONS[n].kind == "argument"] + code + names + [
                n for n in cmd.uses if OPTIONS[n].kind != "argument"]:
            use_help = cmd.uses[name].help if name in cmd.uses else (
                cmd.conv.help.get(name) if cmd.conv else None)
            lines.append(f"| {_names(OPTIONS[name])} | {_default(command, name)} | "
                         f"{_cell(use_help or OPTIONS[name].help)} |")
    lines += ["", "## Old spellings", "",
              "Accepted for one more version, each with a one-line note on stderr "
              "(CHANGELOG.md lists them).", "", "| command | old | now |", "|---|---|---|"]
    for command, cmd in COMMANDS.items():
        for name, use in cmd.uses.items():
            for old in use.old:
                lines.append(f"| {command} | `{old}` | {_names(OPTIONS[name])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv == ["--write"]:
        DOC.write_text(text, encoding="utf-8")
    elif argv:
        sys.stderr.write("usage: python -m convcli.cli.option_docs [--write]\n")
        return 2
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
