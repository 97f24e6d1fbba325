"""`convcli verify`: numerical and arithmetic proof, as check families that return
report dataclasses (never printing).

Checks (each one row of the report: name, configurations tried, worst error, pass/fail):

* ``grouped``    grouped conv == split-and-concat: group g reads input channels
                 [g*C_in/G, (g+1)*C_in/G) and owns weight rows [g*C_out/G, ...)
                 (transposed: rows [g*C_in/G, ...), the weight's dim 0 is C_in) and
                 bias[g*C_out/G, ...); one conv per group, concatenated, must equal the
                 grouped conv. Slices come from ``counts.group_layout``.
* ``depthwise``  groups == C_in: one single-channel conv per input channel.
* ``separable``  depthwise k x k then pointwise 1x1: the shapes chain, the block's
                 output has the standard conv's shape, and torch's parameter count
                 and FLOPs equal ``counts.compare_groups`` and the closed formula
                 C_in*K + C_in*C_out (+ C_in + C_out bias); without bias the ratio to the
                 standard conv is exactly 1/C_out + 1/K.
* ``calculator`` ConvSpec's validity and output shape against real CPU forward passes
                 (``runner.torch_output_shape``) on random configurations from
                 ``cases.random_case``, valid and invalid; params against
                 sum(p.numel()); MACs against torch.utils.flop_counter (FLOPs / 2).
* ``reference``  the numpy reference (``reference.conv``, float64) against torch in the
                 chosen dtype and device, within the dtype's tolerance.

Inputs and parameters are drawn in float64 from a seeded generator and rounded to the
dtype once; the reference computes in float64 on those rounded values, so the
tolerance covers only torch's own arithmetic. On CUDA, TF32 is switched off while
verify runs (it checks the math, not TF32's 10-bit mantissa).

Known quirk, counted as agreement (docs: /work/shared/torch-conv-rules.md): a
transposed conv whose output size is exactly 0 in some dim may return an empty tensor
on torch's CPU backend, while ConvSpec rejects it on purpose.

torch is imported inside functions, through ``runner``.
"""

from __future__ import annotations

import random
import time
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from math import prod
from typing import Callable

from convcli import runner
from convcli.cases import Case, random_case
from convcli.counts import compare_groups, group_layout, macs as count_macs
from convcli.errors import ConvError
from convcli.parse import format_shape
from convcli.spec import ConvSpec

# (atol, rtol) per dtype: |torch - reference| <= atol + rtol * |reference| elementwise
# (torch.allclose's rule). Outputs are O(1): inputs ~ N(0, 1), weights ~
# U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch initialises them.
TOLERANCES = {
    "float64": (1e-10, 1e-8),
    "float32": (1e-4, 1e-4),
    "float16": (1e-2, 1e-2),
    "bfloat16": (5e-2, 2e-2),
}
DEFAULT_CASES = 1000
CHECKS = {   # name -> what it proves (short enough for an 80-column table)
    "grouped": "grouped conv == split-and-concat",
    "depthwise": "depthwise == per-channel convs",
    "separable": "dw+pw block: shape, params, MACs",
    "calculator": "validity, shape, params, MACs",
    "reference": "numpy reference == torch",
}

Progress = Callable[[str, int, int], None]   # (check name, done, total)


# ---- report dataclasses ---------------------------------------------------------

@dataclass
class Worst:
    """The worst case of a check: what was run, how far off, and where."""

    configuration: str
    error: float | None          # max abs error; None: a valid/invalid disagreement
    where: str
    expected: str
    got: str
    message: str = ""

    def as_dict(self) -> dict:
        return {"configuration": self.configuration, "error": self.error,
                "where": self.where, "expected": self.expected, "got": self.got,
                "message": self.message}


@dataclass
class CheckResult:
    name: str
    title: str
    tolerance: str               # "atol=..., rtol=..." or "exact"
    cases: int = 0
    failures: int = 0
    worst_error: float | None = 0.0
    worst: Worst | None = None
    seconds: float = 0.0
    # calculator: cases where torch returned an empty tensor for a transposed conv
    # with an exactly-0 output size that ConvSpec rejects (documented; agreement)
    quirks: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failures == 0

    worst_failed: bool = False
    worst_rank: int = 0

    def record(self, error: float | None, worst: Worst | None, failed: bool,
               rank: int = 0) -> None:
        """Keep a failing case over a passing one; among failing cases the most basic
        kind of disagreement (lower rank: validity, then shape, params, MACs), then the
        largest error (None, a valid/invalid disagreement, counts as the largest).
        Exact checks pass no Worst for a case that agreed."""
        if failed:
            self.failures += 1
        if worst is None:
            return
        key = (not failed, rank)
        current = (not self.worst_failed, self.worst_rank)
        if self.worst is None or key < current or (
                key == current and _bigger(error, self.worst_error)):
            self.worst, self.worst_error = worst, error
            self.worst_failed, self.worst_rank = failed, rank


@dataclass
class Skipped:
    name: str
    reason: str


@dataclass
class VerifyReport:
    mode: str                    # "suite" or "config"
    configuration: str | None
    spec: ConvSpec | None
    input_shape: tuple[int, ...] | None
    device: str
    dtype: str
    atol: float
    rtol: float
    tolerance_source: str
    seed: int
    random_cases: int
    torch_version: str
    checks: list[CheckResult]
    skipped: list[Skipped]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


@dataclass(frozen=True)
class Conf:
    """One configuration: a valid layer and an input it accepts."""

    spec: ConvSpec
    input_shape: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.spec.torch_repr()} on {format_shape(self.input_shape)}"


@dataclass
class Options:
    device: str = "cpu"
    dtype: str = "float32"
    atol: float | None = None
    rtol: float | None = None
    seed: int = 0
    cases: int = DEFAULT_CASES
    fail_fast: bool = False


def _bigger(a, b) -> bool:
    if a is None:
        return b is not None
    return b is not None and a > b


# ---- options --------------------------------------------------------------------

def tolerance(dtype: str, atol: float | None = None, rtol: float | None = None):
    """(atol, rtol, source) for a dtype, with the user's overrides."""
    if dtype not in TOLERANCES:
        raise ConvError(f"--dtype {dtype!r}: verify runs {', '.join(TOLERANCES)}")
    for name, v in (("--atol", atol), ("--rtol", rtol)):
        if v is not None and not (v >= 0):
            raise ConvError(f"{name} {v}: a tolerance must be a number >= 0, e.g. {name} 1e-4")
    a, r = TOLERANCES[dtype]
    source = f"{dtype} default"
    if atol is not None or rtol is not None:
        source = "--atol/--rtol" if atol is not None and rtol is not None else (
            "--atol" if atol is not None else "--rtol") + f", {dtype} default otherwise"
    return (a if atol is None else atol), (r if rtol is None else rtol), source


def check_options(opts: Options) -> None:
    """Usage errors (exit 2) before torch is imported."""
    runner.parse_device(opts.device)
    tolerance(opts.dtype, opts.atol, opts.rtol)
    if opts.cases < 0:
        raise ConvError(f"--cases {opts.cases}: give a number >= 0 of random configurations")
    if not -2 ** 63 <= opts.seed < 2 ** 63:
        raise ConvError(f"--seed {opts.seed}: seeds are 64-bit integers; use a number "
                        f"between -2**63 and 2**63 - 1, e.g. --seed 3")


def _torch_env(opts: Options):
    """torch, its dtype, its device and the device's label for the report;
    EnvironmentProblem (listing what is there) when the device is not."""
    check_options(opts)
    torch = runner.import_torch()
    dev = runner.resolve_device(opts.device)
    label = dev.name if opts.device == "auto" else opts.device
    return torch, getattr(torch, opts.dtype), torch.device(dev.name), label


# ---- tensors --------------------------------------------------------------------

class _Data:
    """Seeded float64 inputs and parameters, rounded once to the dtype."""

    def __init__(self, torch, dtype, device, seed: int):
        self.torch, self.dtype, self.device = torch, dtype, device
        self.gen = torch.Generator().manual_seed(seed)

    def tensor(self, shape, bound: float | None = None):
        t = self.torch
        if bound is None:
            v = t.randn(tuple(shape), generator=self.gen, dtype=t.float64)
        else:
            v = (t.rand(tuple(shape), generator=self.gen, dtype=t.float64) * 2 - 1) * bound
        return v.to(self.dtype).to(self.device)

    def params(self, spec: ConvSpec):
        """weight and bias with torch's default init range, 1/sqrt(fan_in)."""
        w_shape = spec.weight_shape
        bound = 1 / max(1, prod(w_shape[1:])) ** 0.5
        w = self.tensor(w_shape, bound)
        b = self.tensor((spec.out_channels,), bound) if spec.bias else None
        return w, b


def _np64(t):
    return t.detach().to("cpu").double().numpy()


def _compare(got, expected, atol: float, rtol: float):
    """(max abs error, index of it, ok, got value, expected value) on numpy arrays."""
    import numpy as np

    if got.shape != expected.shape:
        return None, None, False, got.shape, expected.shape
    if got.size == 0:
        return 0.0, None, True, None, None
    diff = np.abs(got - expected)
    idx = np.unravel_index(int(np.argmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
    ok = bool(np.all(diff <= atol + rtol * np.abs(expected)))    # NaN fails
    return float(diff[idx]), idx, ok, float(got[idx]), float(expected[idx])


def _record_numeric(res: CheckResult, conf: Conf, got, expected, atol, rtol,
                    what: str) -> bool:
    err, idx, ok, g, e = _compare(got, expected, atol, rtol)
    if err is None:      # shapes differ
        worst = Worst(conf.describe(), None, "output shape", format_shape(e),
                      format_shape(g), f"{what}: the outputs have different shapes")
    else:
        where = "output" if idx is None else f"output[{', '.join(map(str, idx))}]"
        worst = Worst(conf.describe(), err, where, _num(e), _num(g),
                      "" if ok else f"{what}: |got - expected| > {atol:g} + {rtol:g} * |expected|")
    res.record(err, worst, not ok)
    return ok


def _num(v) -> str:
    return "—" if v is None else f"{v:.8g}"


# ---- built-in configurations ----------------------------------------------------

def _c(dims, cin, cout, k, shape, **kw) -> Conf:
    return Conf(ConvSpec(dims, cin, cout, k, **kw), tuple(shape))


def builtin_grouped() -> list[Conf]:
    """The documented examples, then 1d/2d/3d, stride, dilation, padding modes and
    transposed convs (the random configurations with groups > 1 come on top)."""
    return [
        _c(2, 16, 16, 1, (8, 16, 32, 32), groups=2),          # weight [16, 8, 1, 1]
        _c(2, 6, 12, 3, (4, 6, 64, 64), groups=2),
        _c(2, 3, 3, 3, (2, 3, 32, 32), groups=3),              # depthwise
        _c(1, 8, 12, 5, (2, 8, 31), groups=4, stride=2, dilation=2, padding=3),
        _c(1, 6, 6, 4, (6, 20), groups=3, padding="same", padding_mode="reflect"),
        _c(2, 8, 16, (3, 5), (2, 8, 17, 19), groups=4, stride=(2, 1), padding=(1, 2),
           padding_mode="circular"),
        _c(2, 12, 6, 4, (2, 12, 15, 16), groups=3, padding="same", dilation=(1, 2),
           padding_mode="replicate"),
        _c(3, 4, 8, 3, (1, 4, 7, 8, 9), groups=2, stride=(1, 2, 2), dilation=(2, 1, 1),
           padding=1, padding_mode="reflect"),
        _c(3, 6, 6, 2, (6, 5, 6, 7), groups=6, padding="same"),
        _c(1, 4, 8, 3, (2, 4, 9), groups=2, transposed=True, stride=3, output_padding=2),
        _c(2, 8, 4, 4, (2, 8, 9, 7), groups=4, transposed=True, stride=2, padding=1,
           output_padding=1, dilation=(1, 2)),
        _c(3, 6, 9, 3, (1, 6, 4, 5, 3), groups=3, transposed=True, stride=(2, 1, 2),
           padding=(1, 0, 1), output_padding=(1, 0, 0), bias=False),
    ]


def builtin_depthwise() -> list[Conf]:
    return [
        _c(2, 3, 3, 3, (2, 3, 32, 32), groups=3),
        _c(2, 16, 16, 3, (2, 16, 28, 28), groups=16, stride=2, padding=1),
        _c(2, 4, 8, 5, (2, 4, 15, 15), groups=4, padding="same", padding_mode="reflect"),
        _c(1, 8, 8, 5, (8, 40), groups=8, dilation=2, padding_mode="circular", padding=4),
        _c(3, 4, 4, 3, (1, 4, 6, 7, 8), groups=4, stride=2, padding=1,
           padding_mode="replicate", bias=False),
        _c(2, 4, 4, 3, (2, 4, 9, 9), groups=4, transposed=True, stride=2, padding=1,
           output_padding=1),
        _c(1, 5, 10, 4, (1, 5, 6), groups=5, transposed=True, dilation=2),
    ]


def builtin_separable() -> list[Conf]:
    """Standard convs; the check builds their depthwise-separable replacement."""
    return [
        _c(2, 32, 64, 3, (2, 32, 16, 16), padding=1),
        _c(2, 3, 16, 5, (1, 3, 20, 20), stride=2, padding=2, bias=False),
        _c(1, 16, 32, 3, (2, 16, 50), dilation=2, padding="same"),
        _c(3, 8, 16, 3, (1, 8, 6, 6, 6), padding=1, padding_mode="replicate"),
    ]


def builtin_reference() -> list[Conf]:
    seen, out = set(), []
    for c in builtin_grouped() + builtin_depthwise() + builtin_separable() + [
        _c(2, 4, 6, 4, (2, 4, 9, 10), padding="same", dilation=(2, 1)),   # asymmetric 'same'
        _c(2, 3, 5, (2, 3), (3, 11, 9), stride=(2, 3), padding=(0, 2), padding_mode="reflect"),
        _c(1, 2, 3, 3, (2, 2, 1), padding=1, padding_mode="circular"),     # wrap fully
        _c(3, 2, 3, (1, 2, 3), (1, 2, 3, 4, 5), stride=2, padding=(0, 1, 2),
           padding_mode="replicate", bias=False),
        _c(1, 3, 2, 5, (1, 3, 7), transposed=True, stride=2, padding=3, output_padding=1),
        _c(2, 3, 2, 3, (3, 4, 5), transposed=True, stride=(1, 3), padding=(2, 0),
           output_padding=(0, 2), dilation=(2, 1)),
        _c(3, 2, 2, 2, (1, 2, 3, 3, 3), transposed=True, stride=2, output_padding=1),
    ]:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


def builtin_calculator() -> list[Case]:
    """Fixed cases on top of the random ones: the worked counting case from
    counting-peers.md and the transposed exactly-0-output quirk."""
    return [
        Case(dict(dims=2, in_channels=16, out_channels=32, kernel_size=4, stride=2,
                  padding=1, groups=4, transposed=True), (1, 16, 8, 8)),
        Case(dict(dims=1, in_channels=2, out_channels=3, kernel_size=4, padding=2,
                  transposed=True), (2, 2, 1)),
        Case(dict(dims=2, in_channels=16, out_channels=16, kernel_size=1, groups=2,
                  transposed=False), (8, 16, 32, 32)),
        Case(dict(dims=2, in_channels=3, out_channels=8, kernel_size=4, padding="same",
                  dilation=3, transposed=False), (1, 3, 10, 11)),
    ]


def random_cases(seed: int, n: int) -> list[Case]:
    rng = random.Random(seed)
    return [random_case(rng) for _ in range(n)]


def valid_confs(cases: list[Case]) -> list[Conf]:
    """The cases ConvSpec accepts, as configurations for the numeric checks."""
    out = []
    for c in cases:
        try:
            spec = ConvSpec(**c.args)
            spec.output_shape(c.input_shape)
        except ConvError:
            continue
        out.append(Conf(spec, tuple(c.input_shape)))
    return out


# ---- the checks -----------------------------------------------------------------

class _Run:
    """State shared by the checks of one verify run."""

    def __init__(self, opts: Options, progress: Progress | None):
        self.opts = opts
        self.torch, self.tdtype, self.device, self.device_label = _torch_env(opts)
        self.atol, self.rtol, self.tol_source = tolerance(opts.dtype, opts.atol, opts.rtol)
        self.data = _Data(self.torch, self.tdtype, self.device, opts.seed)
        self.progress = progress or (lambda name, done, total: None)

    @property
    def tol_text(self) -> str:
        return f"atol={self.atol:g}, rtol={self.rtol:g}"

    def run(self, name: str, items: list, one: Callable) -> CheckResult:
        tol = "exact" if name in ("calculator", "separable") else self.tol_text
        res = CheckResult(name, CHECKS[name], tol)
        start = time.perf_counter()
        total = len(items)
        self.progress(name, 0, total)
        torch = self.torch
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            for i, item in enumerate(items):
                ok = one(res, item)
                res.cases += 1
                self.progress(name, i + 1, total)
                if not ok and self.opts.fail_fast:
                    break
        res.seconds = time.perf_counter() - start
        return res

    # 1. grouped == split-and-concat
    def grouped(self, res: CheckResult, conf: Conf) -> bool:
        spec = conf.spec
        x = self.data.tensor(conf.input_shape)
        w, b = self.data.params(spec)
        whole = runner.functional(spec, x, w, b)
        cdim = 1 if len(conf.input_shape) == spec.dims + 2 else 0
        parts = []
        sub = spec.replace(in_channels=spec.in_channels // spec.groups,
                           out_channels=spec.out_channels // spec.groups, groups=1)
        for g in group_layout(spec):
            xg = x.narrow(cdim, g.in_channels[0], g.in_channels[1] - g.in_channels[0])
            wg = w[g.weight_rows[0]:g.weight_rows[1]]
            bg = None if b is None else b[g.out_channels[0]:g.out_channels[1]]
            parts.append(runner.functional(sub, xg, wg, bg))
        split = self.torch.cat(parts, dim=cdim)
        return _record_numeric(res, conf, _np64(whole), _np64(split), self.atol, self.rtol,
                               f"groups={spec.groups} conv vs {spec.groups} convs concatenated")

    # 2. depthwise == one conv per channel
    def depthwise(self, res: CheckResult, conf: Conf) -> bool:
        spec = conf.spec
        c_in, mult = spec.in_channels, spec.out_channels // spec.in_channels
        x = self.data.tensor(conf.input_shape)
        w, b = self.data.params(spec)
        whole = runner.functional(spec, x, w, b)
        cdim = 1 if len(conf.input_shape) == spec.dims + 2 else 0
        one = spec.replace(in_channels=1, out_channels=mult, groups=1)
        parts = []
        for c in range(c_in):
            # conv weight rows c*mult..; transposed weight (C_in, mult, *k): row c
            wc = w[c:c + 1] if spec.transposed else w[c * mult:(c + 1) * mult]
            bc = None if b is None else b[c * mult:(c + 1) * mult]
            parts.append(runner.functional(one, x.narrow(cdim, c, 1), wc, bc))
        per_channel = self.torch.cat(parts, dim=cdim)
        return _record_numeric(res, conf, _np64(whole), _np64(per_channel), self.atol,
                               self.rtol, f"depthwise conv vs {c_in} single-channel convs")

    # 3. depthwise-separable block
    def separable(self, res: CheckResult, conf: Conf) -> bool:
        from torch.utils.flop_counter import FlopCounterMode

        spec, shape = conf.spec, conf.input_shape
        c_in, c_out = spec.in_channels, spec.out_channels
        kk = prod(spec.kernel_size)
        bias = int(spec.bias)
        rows = compare_groups(spec, shape)
        base = rows[0]
        block_row = next(r for r in rows if r.label == "depthwise-separable")
        dw_spec = spec.replace(out_channels=c_in, groups=c_in)
        pw_spec = ConvSpec(spec.dims, c_in, c_out, 1, bias=spec.bias)
        dw = runner.build_module(dw_spec, dtype=self.tdtype, device=self.device)
        pw = runner.build_module(pw_spec, dtype=self.tdtype, device=self.device)
        std = runner.build_module(spec.replace(groups=1), dtype=self.tdtype,
                                  device=self.device)
        x = self.data.tensor(shape)
        with FlopCounterMode(display=False) as fc:
            mid = dw(x)
            out = pw(mid)
        block_macs = fc.get_total_flops() // 2
        std_out = std(x)
        n_dw = sum(p.numel() for p in dw.parameters())
        n_pw = sum(p.numel() for p in pw.parameters())
        n_std = sum(p.numel() for p in std.parameters())
        formula = c_in * kk + c_in * c_out + bias * (c_in + c_out)
        facts = [   # (what, expected (the calculator / formula), got (torch))
            ("depthwise output shape", dw_spec.output_shape(shape), tuple(mid.shape)),
            ("pointwise output shape", pw_spec.output_shape(tuple(mid.shape)),
             tuple(out.shape)),
            ("block output shape == standard conv output shape", tuple(std_out.shape),
             tuple(out.shape)),
            ("standard params", base.params, n_std),
            ("block params (compare_groups)", block_row.params, n_dw + n_pw),
            ("block params (formula C_in*K + C_in*C_out + bias)", formula, n_dw + n_pw),
            ("block MACs (compare_groups vs FlopCounterMode/2)", block_row.macs, block_macs),
            ("saving vs groups=1", Fraction(base.params - block_row.params, base.params),
             Fraction(n_std - n_dw - n_pw, n_std)),
        ]
        if not spec.bias:
            facts.append(("params ratio == 1/C_out + 1/K", Fraction(1, c_out) + Fraction(1, kk),
                          Fraction(n_dw + n_pw, n_std)))
        return self._record_exact(res, conf.describe() + " -> depthwise-separable", facts)

    def _record_exact(self, res: CheckResult, configuration: str, facts) -> bool:
        """facts: (what, expected, got), most basic first; a case's first disagreeing
        fact is the one reported."""
        for rank, (what, expected, got) in enumerate(facts):
            if expected == got:
                continue
            if isinstance(expected, tuple) or isinstance(got, tuple):
                err = (max(abs(a - b) for a, b in zip(expected, got))
                       if len(expected) == len(got) else None)
                e_s, g_s = format_shape(expected), format_shape(got)
            else:
                err = float(abs(expected - got))
                e_s, g_s = _fact(expected), _fact(got)
            others = [w for w, e, g in facts[rank + 1:] if e != g]
            res.record(err, Worst(configuration, err, what, e_s, g_s,
                                  f"{what}: calculator says {e_s}, torch gives {g_s}"
                                  + (f" (also differs: {', '.join(others)})" if others else "")),
                       True, rank + 1)
            return False
        res.record(0.0, None, False)
        return True

    # 4. calculator == torch
    def calculator(self, res: CheckResult, case: Case) -> bool:
        torch = self.torch
        from torch.utils.flop_counter import FlopCounterMode

        shape = tuple(case.input_shape)
        pred = pred_err = truth = truth_err = None
        spec = None
        try:
            spec = ConvSpec(**case.args)
            pred = tuple(spec.output_shape(shape))
        except ConvError as e:
            pred_err = str(e)
        try:
            truth = tuple(runner.torch_output_shape(case.args, shape))
        except (RuntimeError, ValueError, TypeError) as e:
            truth_err = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        where = case.describe()
        if pred_err and truth_err:
            res.record(0.0, None, False)       # both reject it
            return True
        if pred_err and truth is not None and self._zero_size_quirk(spec, shape, truth):
            res.quirks.append(where)
            res.record(0.0, None, False)
            return True
        if pred_err or truth_err:
            got = "accepted, output " + format_shape(truth) if truth_err is None else \
                "rejected (" + truth_err[:160] + ")"
            exp = "rejected (" + pred_err[:160] + ")" if pred_err else \
                "accepted, output " + format_shape(pred)
            res.record(None, Worst(where, None, "validity", exp, got,
                                   "ConvSpec and a real CPU forward pass disagree on "
                                   "whether this conv is valid"), True)
            return False
        facts = [("output shape", pred, truth)]
        m = runner.build_module(spec)
        x = torch.zeros(shape)
        with FlopCounterMode(display=False) as fc:
            m(x)
        facts.append(("params", spec.num_params, sum(p.numel() for p in m.parameters())))
        facts.append(("MACs (FlopCounterMode FLOPs / 2)", count_macs(spec, shape),
                      fc.get_total_flops() // 2))
        return self._record_exact(res, where, facts)

    @staticmethod
    def _zero_size_quirk(spec, shape, truth) -> bool:
        """torch returned a tensor with an exactly-0 spatial size for a transposed conv
        that ConvSpec (on purpose) rejects; every other size must agree."""
        if spec is None or not spec.transposed or len(truth) != len(shape):
            return False
        d = spec.dims
        sizes = tuple((n - 1) * s - 2 * p + dl * (k - 1) + op + 1 for n, s, (p, _), dl, k, op in
                      zip(shape[-d:], spec.stride, spec.padding_pairs, spec.dilation,
                          spec.kernel_size, spec.output_padding))
        return min(sizes) == 0 and tuple(truth[-d:]) == sizes

    # 5. reference == torch
    def reference(self, res: CheckResult, conf: Conf) -> bool:
        from convcli import reference

        spec = conf.spec
        x = self.data.tensor(conf.input_shape)
        w, b = self.data.params(spec)
        got = _np64(runner.functional(spec, x, w, b))
        expected = reference.conv(spec, _np64(x), _np64(w), None if b is None else _np64(b))
        return _record_numeric(res, conf, got, expected, self.atol, self.rtol,
                               "torch vs the float64 numpy reference")


def _fact(v) -> str:
    if isinstance(v, Fraction):
        return f"{float(v):.6g} ({v})"
    return f"{v:,}" if isinstance(v, int) else str(v)


# ---- entry points ---------------------------------------------------------------

def _cuda_tf32(torch, allow: bool | None):
    if allow is None:
        return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allow
    return None


def _execute(opts: Options, plan: list[tuple[str, list, str]], progress, mode, conf):
    """plan: (check name, items, reason when there is nothing to run)."""
    start = time.perf_counter()
    run = _Run(opts, progress)
    torch = run.torch
    checks, skipped = [], []
    saved = _cuda_tf32(torch, None)
    _cuda_tf32(torch, False)
    threads = torch.get_num_threads()
    if mode == "suite":
        # the suite's tensors are tiny: one thread avoids OpenMP hand-offs that cost
        # more than the convs themselves (and spin badly on a busy machine)
        torch.set_num_threads(1)
    try:
        for name, items, reason in plan:
            if not items:
                skipped.append(Skipped(name, reason))
                continue
            if opts.fail_fast and checks and not checks[-1].passed:
                skipped.append(Skipped(name, f"not run: --fail-fast stopped at "
                                             f"'{checks[-1].name}'"))
                continue
            checks.append(run.run(name, items, getattr(run, name)))
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
        torch.set_num_threads(threads)
    return VerifyReport(
        mode=mode, configuration=None if conf is None else conf.describe(),
        spec=None if conf is None else conf.spec,
        input_shape=None if conf is None else conf.input_shape,
        device=run.device_label, dtype=opts.dtype, atol=run.atol, rtol=run.rtol,
        tolerance_source=run.tol_source, seed=opts.seed,
        random_cases=opts.cases if mode == "suite" else 0,
        torch_version=torch.__version__, checks=checks, skipped=skipped,
        seconds=time.perf_counter() - start)


def suite_plan(opts: Options) -> list[tuple[str, list, str]]:
    """The built-in suite: fixed configurations per check, plus ``opts.cases`` random
    configurations (valid and invalid) for the calculator; the valid ones also feed
    the reference check, and those with groups > 1 the grouped/depthwise checks."""
    check_options(opts)
    cases = random_cases(opts.seed, opts.cases)
    valid = valid_confs(cases)
    return [
        ("grouped", builtin_grouped() + [c for c in valid if c.spec.groups > 1], ""),
        ("depthwise", builtin_depthwise() + [
            c for c in valid if c.spec.groups == c.spec.in_channels > 1], ""),
        ("separable", builtin_separable(), ""),
        ("calculator", builtin_calculator() + cases, ""),
        ("reference", builtin_reference() + valid, ""),
    ]


def run_suite(opts: Options, progress: Progress | None = None) -> VerifyReport:
    plan = suite_plan(opts)
    return _execute(opts, plan, progress, "suite", None)


def spec_args(spec: ConvSpec) -> dict:
    """ConvSpec -> the raw keyword arguments torch's constructor gets."""
    padding = spec.padding_text if spec.padding_text in ("same", "valid") else spec.padding
    return dict(dims=spec.dims, in_channels=spec.in_channels,
                out_channels=spec.out_channels, kernel_size=spec.kernel_size,
                stride=spec.stride, padding=padding, dilation=spec.dilation,
                groups=spec.groups, bias=spec.bias, padding_mode=spec.padding_mode,
                transposed=spec.transposed, output_padding=spec.output_padding)


def config_plan(spec: ConvSpec, input_shape) -> list[tuple[str, list, str]]:
    conf = Conf(spec, tuple(input_shape))
    spec.output_shape(conf.input_shape)          # ConvError (exit 2) before any work
    g = spec.groups
    return [
        ("grouped", [conf] if g > 1 else [], "groups=1: there is nothing to split"),
        ("depthwise", [conf] if g == spec.in_channels > 1 else [],
         f"groups={g} != in_channels={spec.in_channels}: not depthwise"
         if g != spec.in_channels else "in_channels=1: not depthwise"),
        ("separable", [] if spec.transposed else [conf],
         "a transposed conv has no depthwise-separable counterpart here"),
        ("calculator", [Case(spec_args(spec), conf.input_shape)], ""),
        ("reference", [conf], ""),
    ]


def run_config(spec: ConvSpec, input_shape, opts: Options,
               progress: Progress | None = None) -> VerifyReport:
    """Every check that applies to one configuration."""
    check_options(opts)
    plan = config_plan(spec, input_shape)
    return _execute(opts, plan, progress, "config", Conf(spec, tuple(input_shape)))


def default_input(spec: ConvSpec) -> tuple[int, ...]:
    """2 x C_in x S per dim, S large enough for the kernel span: 12 or 2 * span."""
    spans = [dl * (k - 1) + 1 for k, dl in zip(spec.kernel_size, spec.dilation)]
    return (2, spec.in_channels) + tuple(max(12, 2 * s) for s in spans)
