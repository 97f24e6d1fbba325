"""Text -> layer calls: what people write for a stack of torch layers.

Accepted forms (all parsed with ``ast``; nothing is ever evaluated):

* constructor calls separated by commas or newlines::

      Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)

* the body of an ``nn.Sequential(...)`` pasted as is (trailing commas, comments,
  ``nn.`` / ``torch.nn.`` prefixes), or the whole ``nn.Sequential(...)`` call;
  nested Sequentials are flattened;
* argument values are literals (numbers, strings, True/False/None, tuples, lists)
  and integer arithmetic on them, so ``Linear(64 * 4 * 4, 10)`` works as written.

Nothing here knows what a layer does: ``LayerCall`` is the name, the positional
and keyword arguments and the text, for net.py to bind and check.
Pure Python: no torch, no numpy.
"""

from __future__ import annotations

import ast
import operator
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


def parse_layers(text: str, source: str = "LAYERS") -> list[LayerCall]:
    """Every layer call in ``text``, in order; ConvError naming the piece that is not
    a layer call. ``source`` names where the text came from (LAYERS or a file)."""
    chunks = _split(text, source)
    calls: list[LayerCall] = []
    for chunk, line in chunks:
        try:
            node, chunk = _parse_chunk(chunk)
        except SyntaxError as e:
            raise ConvError(
                f"{source} line {line}: {_clip(chunk)!r} is not a layer call "
                f"({e.msg}); write torch constructors like Conv2d(3, 16, 3, padding=1), "
                "separated by commas or newlines"
            ) from None
        calls.extend(_calls(node, chunk, line, source))
    if not calls:
        raise ConvError(
            f"{source}: no layers found; write torch constructors separated by commas or "
            "newlines, e.g. \"Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)\"")
    return calls


def read_layers_file(path: str) -> str:
    from convcli.errors import EnvironmentProblem
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise EnvironmentProblem(f"--file {path}: no such file") from None
    except IsADirectoryError:
        raise EnvironmentProblem(f"--file {path}: is a directory, not a text file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EnvironmentProblem(f"--file {path}: cannot read it ({e})") from None


# ---- splitting ----------------------------------------------------------------------

def _split(text: str, source: str) -> list[tuple[str, int]]:
    """Top-level pieces separated by commas or newlines (brackets, strings and
    comments respected), each with its first line number."""
    pieces: list[tuple[str, int]] = []
    buf: list[str] = []
    depth = 0
    quote = ""
    line = start_line = 1
    i = 0
    n = len(text)

    def flush():
        piece = "".join(buf).strip()
        if piece:
            pieces.append((piece, start_line))
        buf.clear()

    while i < n:
        ch = text[i]
        if not ch.isspace() and ch not in ",;#" and not "".join(buf).strip():
            start_line = line
        if quote:
            buf.append(ch)
            if ch == "\\" and i + 1 < n:
                buf.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
            elif ch == "\n":
                raise ConvError(f"{source} line {line}: a string is not closed")
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif ch in "([{":
            depth += 1
            buf.append(ch)
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise ConvError(
                    f"{source} line {line}: {ch!r} closes a bracket that was never opened")
            buf.append(ch)
        elif depth == 0 and ch in ",;\n":
            flush()
        else:
            buf.append(ch)
        if ch == "\n":
            line += 1
        i += 1
    if quote:
        raise ConvError(f"{source} line {line}: a string is not closed")
    if depth > 0:
        raise ConvError(
            f"{source}: {depth} bracket(s) opened but not closed; check the parentheses "
            f"of the layer starting at line {start_line}")
    flush()
    return pieces


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


def _calls(node, chunk: str, first_line: int, source: str) -> list[LayerCall]:
    line = first_line + getattr(node, "lineno", 1) - 1
    if isinstance(node, ast.Tuple):  # "(A(), B())" pasted with brackets
        out = []
        for elt in node.elts:
            out.extend(_calls(elt, chunk, first_line, source))
        return out
    if not isinstance(node, ast.Call):
        piece = _clip(ast.get_source_segment(chunk, node) or chunk)
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
            out.extend(_calls(_ordered_dict_items(arg) or arg, chunk, first_line, source))
        return out
    text = ast.get_source_segment(chunk, node) or chunk
    text = " ".join(_strip_prefix(text).split())
    args = []
    for a in node.args:
        if isinstance(a, ast.Starred):
            raise ConvError(f"{source} line {line}: {text}: *args are not supported; "
                            "write the values out")
        args.append(_value(a, text, line, source))
    kwargs = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ConvError(f"{source} line {line}: {text}: **kwargs are not supported; "
                            "write the values out")
        kwargs[kw.arg] = _value(kw.value, text, line, source)
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


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv,
           ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _value(node, text: str, line: int, source: str):
    """A literal, a tuple/list of them, or arithmetic on numbers (64 * 4 * 4)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool,
                                                                  type(None))):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e, text, line, source) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        v = _value(node.operand, text, line, source)
        if _number(v):
            return _UNARY[type(node.op)](v)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a = _value(node.left, text, line, source)
        b = _value(node.right, text, line, source)
        if _number(a) and _number(b):
            if isinstance(node.op, ast.Pow) and (abs(b) > 64 or abs(a) > 2 ** 32):
                raise ConvError(f"{source} line {line}: {text}: {a} ** {b} is too large")
            try:
                result = _BINOPS[type(node.op)](a, b)
            except ZeroDivisionError:
                raise ConvError(f"{source} line {line}: {text}: division by zero") from None
            if isinstance(result, float) and result.is_integer() and isinstance(
                    node.op, ast.Div):
                return result  # torch would see a float too; binding says if that is wrong
            return result
    segment = ast.unparse(node)
    if isinstance(node, ast.Name):
        raise ConvError(
            f"{source} line {line}: {text}: {segment!r} is a variable; convcli does not run "
            f"code, so write its value (e.g. 64 instead of {segment})")
    raise ConvError(
        f"{source} line {line}: {text}: {_clip(segment)!r} is not a literal; arguments "
        "must be numbers, strings, True/False/None, tuples or arithmetic on numbers")


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _clip(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."
