"""Where `net`'s layer text comes from (LAYERS, --file PATH, --file - for stdin), read
within a bound, and the names ``--set`` gives values to. Pure Python."""

from __future__ import annotations

import ast
import os
import stat
from typing import Any

from convcli.errors import ConvError, EnvironmentProblem
from convcli.network.text import MAX_TEXT, _clip


def read_layers(layers: str | None, file: str | None) -> tuple[str, str]:
    """(text, where it came from); exactly one of LAYERS and --file."""
    if (layers is None) == (file is None):
        raise ConvError("give the layers either as LAYERS or with --file PATH (not both), "
                        "e.g. convcli net 1x3x32x32 \"Conv2d(3, 16, 3), ReLU()\"")
    if file is None:
        return layers or "", "LAYERS"
    if file == "-":
        return read_stdin(), "stdin"
    return read_layers_file(file), file


def read_stdin() -> str:
    """Standard input as UTF-8 text (a byte-order mark dropped), at most MAX_TEXT
    characters; a closed stdin or a terminal is said so (files.stdin_for). Decoded
    strictly, as a file is: stdin's own decoder may escape bad bytes (UTF-8 mode) where
    a file's would refuse them."""
    from convcli.files import stdin_for     # tempfile and the rest: not on net's fast path
    stream = stdin_for("--file", "convcli net 1x3x32x32 --file - < layers.txt")
    try:
        data = stream.read(4 * MAX_TEXT + 4)
    except (OSError, ValueError) as e:
        raise EnvironmentProblem(f"--file -: cannot read standard input ({e})") from None
    return _decoded(data, "stdin")


def _decoded(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise EnvironmentProblem(f"{where}: not UTF-8 text ({e.reason} at byte "
                                 f"{e.start:,})") from None
    if len(text) > MAX_TEXT:
        raise ConvError(f"{where}: more than {MAX_TEXT:,} characters of layer text; convcli "
                        "reads one network's layers, not a data file")
    return text


def read_layers_file(path: str) -> str:
    """The file's text, at most MAX_TEXT characters; a FIFO or device is refused (it
    could block or never end)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise EnvironmentProblem(f"--file {path}: no such file") from None
    except OSError as e:
        raise EnvironmentProblem(f"--file {path}: cannot read it ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise EnvironmentProblem(f"--file {path}: is a directory, not a text file")
    if not stat.S_ISREG(mode):
        raise EnvironmentProblem(f"--file {path}: not a regular file (a device, FIFO or "
                                 "socket); give a text file, or --file - for stdin")
    try:
        with open(path, "rb") as f:
            data = f.read(4 * MAX_TEXT + 4)
    except OSError as e:
        raise EnvironmentProblem(f"--file {path}: cannot read it ({e.strerror})") from None
    return _decoded(data, f"--file {path}")


def parse_names(values: list[str]) -> dict[str, Any]:
    """--set nz=100,ngf=64 (repeatable) -> {'nz': 100, 'ngf': 64}; values are Python
    literals (numbers, strings, True/False/None, tuples)."""
    names: dict[str, Any] = {}
    for text in values:
        for item in _items(text):
            name, sep, raw = item.partition("=")
            name = name.strip()
            if not sep or not name.isidentifier():
                raise ConvError(f"--set: {_clip(item, 40)!r} is not NAME=VALUE; write e.g. "
                                "--set nz=100,ngf=64")
            try:
                value = ast.literal_eval(raw.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise ConvError(f"--set {name}: {_clip(raw, 40)!r} is not a number or a "
                                "literal; write e.g. --set ngf=64") from None
            names[name] = value
    return names


def _items(text: str) -> list[str]:
    """Split on commas outside brackets and quotes (--set k=(3, 3),s=1)."""
    items, depth, start, quote = [], 0, 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [i for i in (x.strip() for x in items) if i]
