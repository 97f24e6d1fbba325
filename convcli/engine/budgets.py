"""Budgets: the limits on a model's cost that CI enforces, and whether a report (or a
diff's change) keeps them.

A model's totals are read from its --json dict (``totals``), so `summary`, `net` and
`diff` (whose inputs may be saved --json files) check the same numbers:
- params: ``total_params``;
- macs: ``total_macs`` (at least that many when ``macs_complete`` is false);
- activations: ``activation_bytes`` in the report's dtype (every layer's output);
- train_memory: ``train.total_bytes`` (one training step, needs --train).
A budget on the change (`diff` only: --max-macs-increase 5%) limits head - base, as a
share of base or in the metric's own unit. A budget fails when the value is over its
limit, or when the value is unknown (no --train for train_memory). Pure Python: `net`
checks budgets without torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from convcli.calculator.parse import parse_bytes, parse_count
from convcli.errors import ConvError

# name -> (option, unit, what the value is)
METRICS = {
    "params": ("--max-params", "count", "parameters"),
    "macs": ("--max-macs", "count", "MACs"),
    "activations": ("--max-activations", "bytes", "activation bytes"),
    "train_memory": ("--max-train-memory", "bytes", "training step bytes"),
}
# budgets on the change (diff): short enough for a help screen's option column
INCREASE_OPTIONS = {"params": "--max-params-increase", "macs": "--max-macs-increase",
                    "activations": "--max-act-increase",
                    "train_memory": "--max-train-increase"}


@dataclass(frozen=True)
class Limit:
    """One budget as given: on the value (``increase`` False) or on head - base."""

    metric: str             # a key of METRICS
    text: str               # as written on the command line
    amount: int | None      # in the metric's unit
    share: Fraction | None = None    # increase budgets: a share of base (1/20 for 5%)
    increase: bool = False

    @property
    def name(self) -> str:
        return self.metric + ("_increase" if self.increase else "")

    @property
    def option(self) -> str:
        return INCREASE_OPTIONS[self.metric] if self.increase else METRICS[self.metric][0]


@dataclass(frozen=True)
class BudgetResult:
    """One budget checked: the limit and the value in the metric's unit."""

    name: str
    option: str
    unit: str                # count | bytes
    limit: int
    value: int | None        # None: not known (no --train)
    ok: bool
    text: str                # the limit as given (5%, 25M)
    note: str = ""

    @property
    def margin(self) -> int | None:
        """How much is left (negative: by how much the budget is exceeded)."""
        return None if self.value is None else self.limit - self.value

    def as_dict(self) -> dict:
        return {"name": self.name, "option": self.option, "unit": self.unit,
                "limit": self.limit, "given": self.text, "value": self.value,
                "margin": self.margin, "ok": self.ok, "note": self.note or None}


def parse_limit(metric: str, text: str, increase: bool = False) -> Limit:
    """--max-params 25M, --max-activations 2GiB, --max-macs-increase 5% -> a Limit."""
    option = INCREASE_OPTIONS[metric] if increase else METRICS[metric][0]
    raw = text.strip()
    if increase and raw.endswith("%"):
        number = raw[:-1].strip()
        pct = Fraction(number) if re.fullmatch(r"\d{1,9}(\.\d{0,9})?|\.\d{1,9}", number) \
            else Fraction(-1)
        if not 0 <= pct <= 10 ** 6:
            raise ConvError(f"{option}: {text!r} is not a share; write e.g. 5% (of base), "
                            "or an amount such as 1M")
        return Limit(metric, raw, None, pct / 100, True)
    if increase and raw == "0":
        return Limit(metric, raw, 0, None, True)
    if METRICS[metric][1] == "count":
        return Limit(metric, raw, parse_count(raw, option), None, increase)
    amount = parse_bytes(raw, option)
    if isinstance(amount, float):
        raise ConvError(f"{option}: {text!r}: give a size such as 16GiB (a share of the "
                        "free memory means nothing for another machine)")
    return Limit(metric, raw, amount, None, increase)


def parse_limits(given: dict[str, str | None], increase: bool = False) -> list[Limit]:
    """The budgets given, in METRICS' order: {"params": "25M", "macs": None, ...}."""
    return [parse_limit(m, raw, increase) for m in METRICS
            if (raw := given.get(m)) is not None]


def needs_train(limits: list[Limit]) -> bool:
    return any(lim.metric == "train_memory" for lim in limits)


def totals(data: dict) -> dict[str, int | None]:
    """The four budgeted values of a net/summary --json dict."""
    train = data.get("train") or {}
    activations = data.get("activation_bytes") or {}
    return {"params": data.get("total_params"), "macs": data.get("total_macs"),
            "activations": activations.get(data.get("dtype", "float32")),
            "train_memory": train.get("total_bytes")}


def _note(metric: str, data: dict) -> str:
    if metric == "macs" and not data.get("macs_complete", True):
        return "at least this many: some work was not counted (see the notes)"
    return ""


def check(limits: list[Limit], data: dict, base: dict | None = None) -> list[BudgetResult]:
    """Each limit against ``data`` (HEAD); an increase limit against head - base."""
    head = totals(data)
    before = totals(base) if base is not None else {}
    out = []
    for lim in limits:
        unit = METRICS[lim.metric][1]
        value = head[lim.metric]
        note = _note(lim.metric, data)
        limit = lim.amount
        if lim.increase:
            old = before.get(lim.metric)
            if value is None or old is None:
                value = None
            else:
                value = value - old
            if lim.share is not None:
                limit = round(lim.share * old) if old is not None else 0
        if value is None:
            note = ("no training memory: add --train (to both sides of a diff)"
                    if lim.metric == "train_memory" else "not known")
        assert limit is not None
        out.append(BudgetResult(lim.name, lim.option, unit, limit, value,
                                value is not None and value <= limit, lim.text, note))
    return out


def failed_line(results: list[BudgetResult]) -> str:
    """The one-line reason for exit 1, naming every budget that failed."""
    from convcli.formatting import count, size

    parts = []
    for r in results:
        if r.ok:
            continue
        show = count if r.unit == "count" else size
        if r.value is None:
            parts.append(f"{r.option} {r.text}: {r.note}")
        else:
            parts.append(f"{r.option} {r.text}: {show(r.value)} is over {show(r.limit)} by "
                         f"{show(r.value - r.limit)}")
    n = len(parts)
    return f"{n} of {len(results)} budget{'s' if len(results) != 1 else ''} failed: " \
        + "; ".join(parts)
