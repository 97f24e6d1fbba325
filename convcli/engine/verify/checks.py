"""The check families of `convcli verify`, each a method of ``Checks`` that runs one
configuration and records it in a CheckResult: grouped == split-and-concat, depthwise
== per-channel convs, the depthwise-separable block's shapes, params and MACs, the
calculator against real forward passes, and the numpy reference against torch.

Inputs and parameters are drawn in float64 from a seeded generator and rounded to the
dtype once; the reference computes in float64 on those rounded values, so the
tolerance covers only torch's own arithmetic. torch is imported inside functions.
"""

from __future__ import annotations

import time
import warnings
from fractions import Fraction
from math import prod
from typing import Callable

from convcli.calculator.cases import Case
from convcli.calculator.costs import macs as count_macs
from convcli.calculator.groups import compare_groups, group_layout
from convcli.calculator.interpret import read_spec
from convcli.calculator.spec import ConvSpec
from convcli.engine import torch_adapter
from convcli.engine.devices import resolve_device
from convcli.engine.torch_adapter import import_torch
from convcli.engine.verify.report import (CHECKS, CheckResult, Conf, Options, Progress, Worst,
                                          check_options, tolerance)
from convcli.errors import ConvError
from convcli.formatting import shape_x


def _torch_env(opts: Options):
    """torch, its dtype, its device and the device's label for the report;
    EnvironmentProblem (listing what is there) when the device is not."""
    check_options(opts)
    torch = import_torch()
    dev = resolve_device(opts.device)
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
        worst = Worst(conf.describe(), None, "output shape", shape_x(e),
                      shape_x(g), f"{what}: the outputs have different shapes")
    else:
        where = "output" if idx is None else f"output[{', '.join(map(str, idx))}]"
        worst = Worst(conf.describe(), err, where, _num(e), _num(g),
                      "" if ok else f"{what}: |got - expected| > {atol:g} + {rtol:g} * |expected|")
    res.record(err, worst, not ok)
    return ok


def _num(v) -> str:
    return "—" if v is None else f"{v:.8g}"


# ---- built-in configurations ----------------------------------------------------


class Checks:
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
        whole = torch_adapter.functional(spec, x, w, b)
        cdim = 1 if len(conf.input_shape) == spec.dims + 2 else 0
        parts = []
        sub = spec.replace(in_channels=spec.in_channels // spec.groups,
                           out_channels=spec.out_channels // spec.groups, groups=1)
        for g in group_layout(spec):
            xg = x.narrow(cdim, g.in_channels[0], g.in_channels[1] - g.in_channels[0])
            wg = w[g.weight_rows[0]:g.weight_rows[1]]
            bg = None if b is None else b[g.out_channels[0]:g.out_channels[1]]
            parts.append(torch_adapter.functional(sub, xg, wg, bg))
        split = self.torch.cat(parts, dim=cdim)
        return _record_numeric(res, conf, _np64(whole), _np64(split), self.atol, self.rtol,
                               f"groups={spec.groups} conv vs {spec.groups} convs concatenated")

    # 2. depthwise == one conv per channel
    def depthwise(self, res: CheckResult, conf: Conf) -> bool:
        spec = conf.spec
        c_in, mult = spec.in_channels, spec.out_channels // spec.in_channels
        x = self.data.tensor(conf.input_shape)
        w, b = self.data.params(spec)
        whole = torch_adapter.functional(spec, x, w, b)
        cdim = 1 if len(conf.input_shape) == spec.dims + 2 else 0
        one = spec.replace(in_channels=1, out_channels=mult, groups=1)
        parts = []
        for c in range(c_in):
            # conv weight rows c*mult..; transposed weight (C_in, mult, *k): row c
            wc = w[c:c + 1] if spec.transposed else w[c * mult:(c + 1) * mult]
            bc = None if b is None else b[c * mult:(c + 1) * mult]
            parts.append(torch_adapter.functional(one, x.narrow(cdim, c, 1), wc, bc))
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
        dw = torch_adapter.build_module(dw_spec, dtype=self.tdtype, device=self.device)
        pw = torch_adapter.build_module(pw_spec, dtype=self.tdtype, device=self.device)
        std = torch_adapter.build_module(spec.replace(groups=1), dtype=self.tdtype,
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
                e_s, g_s = shape_x(expected), shape_x(got)
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
        try:   # the layer as given, or as read from a user's text (rank, -i, --dims)
            spec = (read_spec(**case.text, input_shape=shape)[0] if case.text is not None
                    else ConvSpec(**case.args))
            pred = tuple(spec.output_shape(shape))
        except ConvError as e:
            pred_err = str(e)
        try:
            truth = tuple(torch_adapter.torch_output_shape(case.args, shape))
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
            got = "accepted, output " + shape_x(truth) if truth_err is None else \
                "rejected (" + truth_err[:160] + ")"
            exp = "rejected (" + pred_err[:160] + ")" if pred_err else \
                "accepted, output " + shape_x(pred)
            res.record(None, Worst(where, None, "validity", exp, got,
                                   "ConvSpec and a real CPU forward pass disagree on "
                                   "whether this conv is valid"), True)
            return False
        facts = [("output shape", pred, truth)]
        m = torch_adapter.build_module(spec)
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
        from convcli.engine import reference

        spec = conf.spec
        x = self.data.tensor(conf.input_shape)
        w, b = self.data.params(spec)
        got = _np64(torch_adapter.functional(spec, x, w, b))
        expected = reference.conv(spec, _np64(x), _np64(w), None if b is None else _np64(b))
        return _record_numeric(res, conf, got, expected, self.atol, self.rtol,
                               "torch vs the float64 numpy reference")


def _fact(v) -> str:
    if isinstance(v, Fraction):
        return f"{float(v):.6g} ({v})"
    return f"{v:,}" if isinstance(v, int) else str(v)


# ---- entry points ---------------------------------------------------------------
