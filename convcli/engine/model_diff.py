"""`convcli diff BASE HEAD`: what a change did to a model, row by row and in total.

Both sides are net/summary --json dicts (a saved file, or a model summarised now).
Rows are the ones that partition the model (not blocks expanded into their calls):
- summary rows are matched by module path (``name``); a row left on each side with the
  same type, params, MACs and output shape is the same module renamed, and so is one
  inside a renamed block, or the only one of its type and shapes on each side; the
  rest are added (HEAD only) or removed (BASE only);
- net rows have no names: the layer lists are aligned as text (difflib), an edited
  layer is the row it replaced.
Per row: the change in params, MACs, activation bytes (the row's output, in its
report's dtype; blocks' and own code's outputs are no activation, as in the totals)
and, when both sides have --train, the training step's bytes. The totals are the
reports' own. Pure Python.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass
from math import prod

from convcli.calculator.costs import DTYPE_SIZES
from convcli.errors import ConvError, EnvironmentProblem

METRIC_KEYS = ("params", "macs", "activations", "train_memory")
MAX_JSON_BYTES = 512 * 1024 ** 2


@dataclass(frozen=True)
class DiffRow:
    name: str
    kind: str
    status: str                     # changed | unchanged | added | removed | renamed
    base: dict | None               # metric -> value (None: not on that side)
    head: dict | None
    renamed_from: str | None = None

    def change(self, metric: str) -> int | None:
        old = 0 if self.base is None else self.base[metric]
        new = 0 if self.head is None else self.head[metric]
        if old is None or new is None:
            return None
        return new - old

    def weight(self) -> tuple:
        return tuple(abs(self.change(m) or 0) for m in ("macs", "params", "activations",
                                                         "train_memory"))


@dataclass(frozen=True)
class Diff:
    base_model: str
    head_model: str
    rows: list[DiffRow]             # largest change first; unchanged rows last
    base_totals: dict
    head_totals: dict
    train: bool                     # both sides have --train
    notes: list[str]

    @property
    def shown(self) -> list[DiffRow]:
        return [r for r in self.rows if r.status != "unchanged"]

    @property
    def folded(self) -> int:
        return sum(r.status == "unchanged" for r in self.rows)

    def change(self, metric: str) -> int | None:
        old, new = self.base_totals.get(metric), self.head_totals.get(metric)
        return None if old is None or new is None else new - old


def load_report(path: str, side: str, version: int) -> dict:
    """A summary/net --json file, checked: unreadable -> exit 3, not one -> exit 2;
    ``-``: standard input (at most MAX_JSON_BYTES; empty or bad bytes -> exit 2)."""
    if path == "-":
        from convcli.files import read_stdin, stdin_for
        example = "convcli summary MODEL --input SHAPE --json | convcli diff base.json -"
        raw = read_stdin(stdin_for(side, example), MAX_JSON_BYTES, side, example)
        return parse_report(raw, f"{side} - (stdin)", version)
    try:
        if os.path.getsize(path) > MAX_JSON_BYTES:
            raise ConvError(f"{side} {path!r} is over {MAX_JSON_BYTES >> 20} MiB: not a "
                            "summary --json file")
        with open(path, "rb") as f:
            raw = f.read()
    except IsADirectoryError:
        raise ConvError(f"{side} {path!r} is a folder: give a summary --json file or a "
                        "model (FILE.py:NAME)") from None
    except OSError as e:
        raise EnvironmentProblem(f"{side}: cannot read {path!r} ({e.strerror or e})") \
            from None
    return parse_report(raw, f"{side} {path!r}", version)


def parse_report(raw: bytes, what: str, version: int) -> dict:
    """A report's bytes -> the checked dict (exit 2 when they are not one)."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        where = (f" (line {e.lineno}, column {e.colno})"
                 if isinstance(e, json.JSONDecodeError) else "")
        raise ConvError(f"{what} is not JSON{where}: write it with `convcli summary MODEL "
                        "--input SHAPE --json > FILE`") from None
    return check_report(data, what, version)


def check_report(data, what: str, version: int) -> dict:
    """A dict with a net/summary --json's keys, of this JSON version."""
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list) \
            or not isinstance(data.get("total_params"), int):
        kind = type(data).__name__ if not isinstance(data, dict) else (
            "verify" if "checks" in data else "another command's")
        raise ConvError(f"{what} is {kind} JSON, not a summary or net --json report "
                        "(it has no layers and total_params)")
    if data.get("version") != version:
        raise ConvError(f"{what} is JSON version {data.get('version')!r}; this convcli reads "
                        f"version {version}: write both sides with the same convcli")
    for i, row in enumerate(data["layers"]):
        if not isinstance(row, dict) or not isinstance(row.get("output_shape"), list) \
                or not isinstance(row.get("params"), int):
            raise ConvError(f"{what}: layer {i} is not a row of a report (no params or "
                            "output_shape): the file was edited or cut short")
    return data


def _costs(row: dict, dtype: str) -> dict:
    layer = not row.get("container") and not row.get("own_code")
    train = row.get("train")
    return {"params": row["params"], "macs": row.get("macs"),
            "activations": prod(row["output_shape"]) * DTYPE_SIZES.get(dtype, 4)
            if layer else 0,
            "train_memory": None if not train else train.get("total_bytes")}


def _rows(data: dict) -> list[dict]:
    return [r for r in data["layers"] if not r.get("expanded")]


def _signature(row: dict) -> tuple:
    return (row.get("type"), row["params"], row.get("macs"), tuple(row["output_shape"]))


def _place(row: dict) -> tuple:
    return (row.get("type"), bool(row.get("own_code")), tuple(row.get("input_shape") or ()),
            tuple(row["output_shape"]))


def _row(name: str, kind: str, old: dict | None, new: dict | None, base_dtype: str,
         head_dtype: str, renamed_from: str | None = None) -> DiffRow:
    b = None if old is None else _costs(old, base_dtype)
    h = None if new is None else _costs(new, head_dtype)
    if (new or old or {}).get("own_code"):
        kind = f"{kind} own code"
    status = ("added" if old is None else "removed" if new is None
              else "renamed" if renamed_from else "changed" if b != h else "unchanged")
    return DiffRow(name, kind, status, b, h, renamed_from)


def _by_name(base: list[dict], head: list[dict], bd: str, hd: str) -> list[DiffRow]:
    old = {r["name"]: r for r in base}
    new = {r["name"]: r for r in head}
    out = [_row(n, r.get("type", ""), old[n], r, bd, hd) for n, r in new.items() if n in old]
    gone = [r for n, r in old.items() if n not in new]
    came = [r for n, r in new.items() if n not in old]
    for r in list(came):      # the same module under another path: renamed
        twin = next((g for g in gone if _signature(g) == _signature(r)), None)
        if twin is not None:
            gone.remove(twin)
            came.remove(r)
            out.append(_row(r["name"], r.get("type", ""), twin, r, bd, hd, twin["name"]))
    prefixes = _moved_prefixes([(r.renamed_from, r.name) for r in out if r.renamed_from])
    for r in list(gone):      # in a renamed block, and changed too
        twin = next((c for c in came if c.get("type") == r.get("type")
                     and c["name"] == _moved(r["name"], prefixes)), None)
        if twin is not None:
            gone.remove(r)
            came.remove(twin)
            out.append(_row(twin["name"], twin.get("type", ""), r, twin, bd, hd, r["name"]))
    for r in list(gone):      # the only one of its kind and shapes on each side
        key = _place(r)
        twins = [c for c in came if _place(c) == key]
        if len(twins) == 1 and sum(_place(g) == key for g in gone) == 1:
            gone.remove(r)
            came.remove(twins[0])
            out.append(_row(twins[0]["name"], r.get("type", ""), r, twins[0], bd, hd,
                            r["name"]))
    out += [_row(r["name"], r.get("type", ""), None, r, bd, hd) for r in came]
    out += [_row(r["name"], r.get("type", ""), r, None, bd, hd) for r in gone]
    return out


def _moved_prefixes(pairs: list) -> dict[str, str]:
    """old block path -> new block path, from the renamed rows: body.pool ->
    trunk.pool says block `body` is now `trunk`."""
    out = {}
    for old, new in pairs:
        a, b = old.split("."), new.split(".")
        while len(a) > 1 and len(b) > 1 and a[-1] == b[-1]:
            a, b = a[:-1], b[:-1]
            out[".".join(a)] = ".".join(b)
    return out


def _moved(name: str, prefixes: dict[str, str]) -> str | None:
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        new = prefixes.get(".".join(parts[:i]))
        if new is not None:
            return ".".join([new] + parts[i:])
    return None


def _aligned(base: list[dict], head: list[dict], bd: str, hd: str) -> list[DiffRow]:
    """net's rows: the layer lists aligned as text."""
    def label(r: dict) -> str:
        return f"{r['index']}: {r['layer']}"

    out = []
    matcher = difflib.SequenceMatcher(a=[r["layer"] for r in base],
                                      b=[r["layer"] for r in head], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        olds, news = base[i1:i2], head[j1:j2]
        for k in range(max(len(olds), len(news))):
            o = olds[k] if k < len(olds) else None
            n = news[k] if k < len(news) else None
            shown = n if n is not None else o
            assert shown is not None
            name = label(shown) if o is None or n is None or o["layer"] == n["layer"] \
                else f"{label(n)} (was {o['layer']})"
            out.append(_row(name, shown.get("type", ""), o, n, bd, hd))
    return out


def diff(base: dict, head: dict, base_label: str | None = None,
         head_label: str | None = None) -> Diff:
    from convcli.engine.budgets import totals

    bd, hd = base.get("dtype", "float32"), head.get("dtype", "float32")
    b_rows, h_rows = _rows(base), _rows(head)
    named = all("name" in r for r in b_rows + h_rows)
    rows = (_by_name if named else _aligned)(b_rows, h_rows, bd, hd)
    rows.sort(key=lambda r: (r.status == "unchanged", tuple(-w for w in r.weight())))
    train = bool(base.get("train")) and bool(head.get("train"))
    notes = []
    if bd != hd:
        notes.append(f"the dtypes differ (base {bd}, head {hd}): activation bytes follow")
    if base.get("inputs") != head.get("inputs") or base["input_shape"] != head["input_shape"]:
        notes.append(f"the inputs differ: base {_inputs(base)}, head {_inputs(head)}")
    if bool(base.get("train")) != bool(head.get("train")):
        side = "base" if base.get("train") else "head"
        notes.append(f"only {side} has --train: training memory is not compared")
    for side, data in (("base", base), ("head", head)):
        if not data.get("macs_complete", True):
            notes.append(f"{side}'s MACs are a lower bound (some work was not counted)")
    if not named and any("name" in r for r in b_rows + h_rows):
        notes.append("one side is a net report, the other a summary: rows aligned by layer")
    b_tot, h_tot = totals(base), totals(head)
    if not train:
        b_tot["train_memory"] = h_tot["train_memory"] = None
    return Diff(base_label or base.get("model") or "base",
                head_label or head.get("model") or "head", rows,
                b_tot, h_tot, train, notes)


def _inputs(data: dict) -> str:
    return ", ".join(data.get("inputs") or ["x".join(map(str, data["input_shape"]))])
