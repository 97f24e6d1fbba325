"""Text -> layer calls: what people write for a stack of torch layers.

Accepted forms (all parsed with ``ast``; nothing is ever evaluated):

* constructor calls separated by commas or newlines::

      Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)

* the body of an ``nn.Sequential(...)`` pasted as is (trailing commas, comments,
  ``nn.`` / ``torch.nn.`` prefixes), or the whole ``nn.Sequential(...)`` call;
  nested Sequentials are flattened;
* what ``print(model)`` shows for an nn.Sequential (pasted.py turns it into calls);
* argument values are literals (numbers, strings, True/False/None, tuples, lists),
  names given values with ``--set`` (``ngf * 8`` with ``--set ngf=64``) and
  arithmetic on them, so ``Linear(64 * 4 * 4, 10)`` works as written.

Bounds: at most ``MAX_TEXT`` characters, brackets nested ``MAX_NESTING`` deep and
``MAX_OPERATORS`` operators in one argument (Python's parser recurses on each),
``**`` on operands up to 2**32 and exponents up to 64, and every arithmetic result
within ``MAX_RESULT_BITS`` bits (so no value reaches Python's 4,300-digit limit);
splitting visits each special character once, so a long text costs linear time.

Nothing here knows what a layer does: ``LayerCall`` is the name, the positional
and keyword arguments and the text, for the rules (network/rules/) to bind and check.
Pure Python: no torch, no numpy.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from convcli.errors import ConvError

_PREFIXES = ("torch.nn.modules.", "torch.nn.", "nn.")
_CONTAINERS = ("Sequential",)


@dataclass(frozen=True)
class LayerCall:
    """One constructor call as written: ``Conv2d(3, 16, 3, padding=1)``."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    text: str = ""
    line: int = 0

    def __str__(self) -> str:
        return self.text or self.name + "()"


MAX_TEXT = 1 << 20          # characters of layer text (3,000 layers take about 90,000)
MAX_NESTING = 100           # brackets inside brackets
MAX_OPERATORS = 200         # arithmetic operators in one argument
MAX_RESULT_BITS = 256       # what arithmetic may give (torch's sizes are 64-bit)


def parse_layers(text: str, source: str = "LAYERS",
                 names: dict[str, Any] | None = None) -> list[LayerCall]:
    """Every layer call in ``text``, in order; ConvError naming the piece that is not
    a layer call. ``source`` names where the text came from (LAYERS or a file);
    ``names`` gives values to the names the calls use (--set nz=100)."""
    from convcli.network.pasted import looks_printed, printed_chunks
    if len(text) > MAX_TEXT:
        raise ConvError(f"{source}: {len(text):,} characters is more layer text than convcli "
                        f"reads (at most {MAX_TEXT:,}); give the layers of one network")
    names = dict(names or {})
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if looks_printed(text):
        chunks = printed_chunks(text, source)
        for word in ("same", "valid", "zeros", "reflect", "replicate", "circular"):
            names.setdefault(word, word)  # print(model) writes padding=same unquoted
    else:
        chunks = _split(text, source)
    calls: list[LayerCall] = []
    for chunk, line in chunks:
        _check_operators(chunk, line, source)
        try:
            node, chunk = _parse_chunk(chunk)
        except SyntaxError as e:
            raise ConvError(
                f"{source} line {line}: {_clip(chunk)!r} is not a layer call "
                f"({e.msg}); write torch constructors like Conv2d(3, 16, 3, padding=1), "
                "separated by commas or newlines"
            ) from None
        except (ValueError, MemoryError, RecursionError) as e:
            raise ConvError(f"{source} line {line}: {_clip(chunk)!r}: "
                            f"{' '.join(str(e).split())[:120] or type(e).__name__}") from None
        calls.extend(_calls(node, _Chunk(chunk), line, source, names))
    if not calls:
        raise ConvError(
            f"{source}: no layers found; write torch constructors separated by commas or "
            "newlines, e.g. \"Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)\"")
    return calls


_OPERATOR_RUN = re.compile(r"[^,()\[\]{}]+")
_OPERATOR = re.compile(r"\*\*|//|[-+*/%~@&|^<>]")


def _check_operators(chunk: str, line: int, source: str) -> None:
    """Bound the arithmetic in one argument (Python's parser recurses per operator)."""
    if len(_OPERATOR.findall(chunk)) <= MAX_OPERATORS:
        return
    for piece in _OPERATOR_RUN.findall(chunk):
        n = len(_OPERATOR.findall(piece))
        if n > MAX_OPERATORS:
            raise ConvError(f"{source} line {line}: an argument with {n:,} operators "
                            f"({_clip(piece, 40)!r}); convcli evaluates at most "
                            f"{MAX_OPERATORS} in one argument: write the value")


# ---- splitting ----------------------------------------------------------------------

_SPECIAL = re.compile(r"""[()\[\]{}'"#,;\n]""")


def _split(text: str, source: str) -> list[tuple[str, int]]:
    """Top-level pieces separated by commas or newlines (brackets, strings and
    comments respected), each with its first line number. Linear in the text's
    length: only the special characters are visited, each once."""
    pieces: list[tuple[str, int]] = []
    parts: list[str] = []          # the current piece, comments left out
    depth, line, start, start_line, pos, n = 0, 1, 0, 1, 0, len(text)

    def flush(end: int) -> None:
        parts.append(text[start:end])
        piece = "".join(parts).strip()
        if piece:
            pieces.append((piece, start_line))
        parts.clear()

    while True:
        m = _SPECIAL.search(text, pos)
        if m is None:
            break
        i, ch = m.start(), m.group()
        pos = i + 1
        if ch in "'\"":
            pos = _string_end(text, i, line, source)
        elif ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            parts.append(text[start:i])
            start = pos = end
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ConvError(f"{source} line {line}: brackets nested more than "
                                f"{MAX_NESTING} deep")
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise ConvError(
                    f"{source} line {line}: {ch!r} closes a bracket that was never opened")
        elif depth == 0 and ch in ",;\n":
            flush(i)
            start, start_line = i + 1, line + (ch == "\n")
        if ch == "\n":
            line += 1
    if depth > 0:
        raise ConvError(
            f"{source}: {depth} bracket(s) opened but not closed; check the parentheses "
            f"of the layer starting at line {start_line}")
    flush(n)
    return pieces


def _string_end(text: str, i: int, line: int, source: str) -> int:
    """The index after the string that opens at ``i`` (backslash escapes respected)."""
    quote = text[i]
    ends = re.compile(r"[\\\n" + quote + "]")
    pos = i + 1
    while True:
        m = ends.search(text, pos)
        if m is None or m.group() == "\n":
            raise ConvError(f"{source} line {line}: a string is not closed")
        if m.group() == "\\":
            if text[m.start() + 1:m.start() + 2] == "\n":
                raise ConvError(f"{source} line {line}: a string is not closed")
            pos = m.start() + 2
            continue
        return m.end()


def _parse_chunk(chunk: str) -> tuple[ast.expr, str]:
    """An expression; `features = nn.Sequential(...)` (pasted from __init__) gives its
    right-hand side."""
    try:
        return ast.parse(chunk, mode="eval").body, chunk
    except SyntaxError:
        try:
            tree = ast.parse(chunk, mode="exec")
        except SyntaxError:
            pass
        else:
            if len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign):
                value = tree.body[0].value
                # re-anchor the value so source segments index into its own text
                text = ast.get_source_segment(chunk, value) or ""
                return ast.parse(text, mode="eval").body, text
        raise


# ---- calls --------------------------------------------------------------------------

def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _strip_prefix(name: str) -> str:
    for p in _PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


class _Chunk(str):
    """A piece of layer text that finds the source of its nodes in linear time
    (ast.get_source_segment splits the whole text again for every node)."""

    _starts: list[int] | None = None
    _data: bytes = b""

    def segment(self, node) -> str | None:
        if getattr(node, "end_lineno", None) is None:
            return None
        if self._starts is None:
            self._data = self.encode("utf-8")     # ast's columns count UTF-8 bytes
            starts, pos = [0], 0
            for piece in self._data.split(b"\n"):
                pos += len(piece) + 1
                starts.append(pos)
            self._starts = starts
        a = self._starts[node.lineno - 1] + node.col_offset
        b = self._starts[node.end_lineno - 1] + node.end_col_offset
        return self._data[a:b].decode("utf-8", "replace")


def _calls(node, chunk: _Chunk, first_line: int, source: str,
           names: dict[str, Any]) -> list[LayerCall]:
    line = first_line + getattr(node, "lineno", 1) - 1
    if isinstance(node, ast.Tuple):  # "(A(), B())" pasted with brackets
        out = []
        for elt in node.elts:
            out.extend(_calls(elt, chunk, first_line, source, names))
        return out
    if not isinstance(node, ast.Call):
        piece = _clip(chunk.segment(node) or chunk)
        raise ConvError(
            f"{source} line {line}: {piece!r} is not a layer call; write a torch "
            "constructor like ReLU() (with the parentheses)")
    raw = _dotted(node.func)
    if raw is None:
        raise ConvError(f"{source} line {line}: {_clip(chunk)!r}: the layer must be a name "
                        "like Conv2d or nn.Conv2d")
    name = _strip_prefix(raw)
    if "." in name:
        raise ConvError(f"{source} line {line}: {raw!r} is not a torch.nn layer name; "
                        "write Conv2d, nn.Conv2d or torch.nn.Conv2d")
    if name in _CONTAINERS:
        if node.keywords:
            raise ConvError(f"{source} line {line}: {name}(...) takes layers only")
        out = []
        for arg in node.args:
            out.extend(_calls(_ordered_dict_items(arg) or arg, chunk, first_line, source,
                              names))
        return out
    text = chunk.segment(node) or chunk
    text = " ".join(_strip_prefix(text).split())
    args = []
    for a in node.args:
        if isinstance(a, ast.Starred):
            raise ConvError(f"{source} line {line}: {text}: *args are not supported; "
                            "write the values out")
        args.append(_value(a, text, line, source, names))
    kwargs = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ConvError(f"{source} line {line}: {text}: **kwargs are not supported; "
                            "write the values out")
        kwargs[kw.arg] = _value(kw.value, text, line, source, names)
    return [LayerCall(name, tuple(args), kwargs, text, line)]


def _ordered_dict_items(node):
    """nn.Sequential(OrderedDict([('conv', Conv2d(...)), ...])) -> a Tuple of the layers."""
    if not (isinstance(node, ast.Call) and _dotted(node.func) in (
            "OrderedDict", "collections.OrderedDict") and len(node.args) == 1
            and isinstance(node.args[0], (ast.List, ast.Tuple))):
        return None
    layers = []
    for item in node.args[0].elts:
        if not (isinstance(item, ast.Tuple) and len(item.elts) == 2):
            return None
        layers.append(item.elts[1])
    return ast.Tuple(elts=layers, ctx=ast.Load())


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Mod: operator.mod,
    ast.Pow: operator.pow}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _value(node, text: str, line: int, source: str, names: dict[str, Any]):
    """A literal, a tuple/list of them, a name given with --set, or arithmetic on
    numbers (64 * 4 * 4, ngf * 8)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool,
                                                                  type(None))):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e, text, line, source, names) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        v = _value(node.operand, text, line, source, names)
        if _number(v):
            return _UNARY[type(node.op)](v)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a = _value(node.left, text, line, source, names)
        b = _value(node.right, text, line, source, names)
        if _number(a) and _number(b):
            return _arith(node.op, a, b, text, line, source)
    segment = ast.unparse(node)
    if isinstance(node, ast.Name):
        raise ConvError(
            f"{source} line {line}: {text}: {segment!r} is a variable; convcli does not run "
            f"code: give its value with --set {segment}=64, or write the number")
    raise ConvError(
        f"{source} line {line}: {text}: {_clip(segment)!r} is not a literal; arguments "
        "must be numbers, strings, True/False/None, tuples or arithmetic on numbers")


def _arith(op, a, b, text: str, line: int, source: str):
    if isinstance(op, ast.Pow) and (abs(b) > 64 or abs(a) > 2 ** 32):
        raise ConvError(f"{source} line {line}: {text}: {a} ** {b} is too large")
    try:
        result = _BINOPS[type(op)](a, b)
    except ZeroDivisionError:
        raise ConvError(f"{source} line {line}: {text}: division by zero") from None
    except (OverflowError, ValueError):
        raise ConvError(f"{source} line {line}: {text}: the arithmetic overflows") from None
    if isinstance(result, int) and result.bit_length() > MAX_RESULT_BITS:
        raise ConvError(f"{source} line {line}: {text}: the arithmetic gives a number of "
                        f"about 2**{result.bit_length() - 1}; layer arguments stop at "
                        f"2**{MAX_RESULT_BITS} (torch holds sizes as 64-bit integers)")
    if isinstance(result, complex) or isinstance(result, float) and not math.isfinite(result):
        raise ConvError(f"{source} line {line}: {text}: {a} {_SYMBOL[type(op)]} {b} is not a "
                        "finite number")
    return result  # a float from / stays a float: torch would see a float too


_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Div: "/",
           ast.Mod: "%", ast.Pow: "**"}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _clip(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."
