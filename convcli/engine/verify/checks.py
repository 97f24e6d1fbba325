"""The check families of `convcli verify`, each a method of ``Checks`` that runs one
configuration and records it in a CheckResult: grouped == split-and-concat, depthwise
== per-channel convs, the numpy reference against both of torch's paths (F.convNd and
the nn.ConvNd module users call), the same in every other dtype the device has, and
(exact.py) the depthwise-separable block and the calculator.

A check that raises is a failing check: its worst case carries the exception, and the
report, its JSON and its JUnit file are written as for any other failure.

Inputs and parameters are drawn in float64 from a seeded generator and rounded to the
dtype once; the reference computes in float64 on those rounded values, so the
tolerance covers only torch's own arithmetic: FACTOR eps of the dtype times
sum |x*w| + |b| + |y| per output element (report.Tolerance), that sum computed by the
reference on |x|, |w|, |b|. torch is imported inside functions.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable
from math import prod
from typing import Callable

from convcli.calculator.groups import group_layout
from convcli.calculator.spec import ConvSpec
from convcli.engine import torch_adapter
from convcli.engine.devices import resolve_device
from convcli.engine.torch_adapter import import_torch
from convcli.engine.verify.exact import ExactChecks
from convcli.engine.verify.verify_results import (CHECKS, CheckResult, Conf, DtypeConf, Options,
                                          Progress, Tolerance, Worst, check_options,
                                          tolerance)
from convcli.engine.torch_errors import is_out_of_memory
from convcli.errors import EnvironmentProblem
from convcli.formatting import one_line, shape_x

EXACT = ("calculator", "separable")


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

    def tensor(self, shape, bound: float | None = None, dtype=None):
        t = self.torch
        if bound is None:
            v = t.randn(tuple(shape), generator=self.gen, dtype=t.float64)
        else:
            v = (t.rand(tuple(shape), generator=self.gen, dtype=t.float64) * 2 - 1) * bound
        return v.to(dtype or self.dtype).to(self.device)

    def params(self, spec: ConvSpec, dtype=None):
        """weight and bias with torch's default init range, 1/sqrt(fan_in)."""
        w_shape = spec.weight_shape
        bound = 1 / max(1, prod(w_shape[1:])) ** 0.5
        w = self.tensor(w_shape, bound, dtype)
        b = self.tensor((spec.out_channels,), bound, dtype) if spec.bias else None
        return w, b


def _np64(t):
    return t.detach().to("cpu").double().numpy()


def _magnitude(spec: ConvSpec, x, w, b):
    """sum |x*w| + |b| per output element, by the float64 reference."""
    import numpy as np

    from convcli.engine import reference

    return reference.conv(spec, np.abs(_np64(x)), np.abs(_np64(w)),
                          None if b is None else np.abs(_np64(b)))


def _compare(got, expected, allowed):
    """(max abs error, index, ok, got value, expected value) on numpy arrays; the
    index is the element furthest over its bound (closest to it when all pass)."""
    import numpy as np

    if got.shape != expected.shape:
        return None, None, False, got.shape, expected.shape
    if got.size == 0:
        return 0.0, None, True, None, None
    diff = np.abs(got - expected)
    nan = np.isnan(diff)
    over = np.where(nan, np.inf, diff - allowed)
    idx = np.unravel_index(int(np.argmax(over)), diff.shape)
    ok = bool(np.all(diff <= allowed))    # NaN fails
    err = float("nan") if nan.any() else float(diff.max())
    return err, idx, ok, float(got[idx]), float(expected[idx])


def _num(v) -> str:
    return "—" if v is None else f"{v:.8g}"


def _record_numeric(res: CheckResult, conf, outputs, expected, allowed, tol: Tolerance,
                    what: str) -> bool:
    """outputs: (path name, numpy array) pairs compared with ``expected``; the worst
    path is the one recorded (one case each)."""
    worst: tuple[bool, float, Worst] | None = None
    for path, got in outputs:
        err, idx, ok, g, e = _compare(got, expected, allowed)
        if err is None:      # shapes differ
            found = (False, float("inf"), Worst(
                conf.describe(), None, f"{path} output shape", shape_x(e), shape_x(g),
                f"{what}: the outputs have different shapes"))
        else:
            where = f"{path} output" + ("" if idx is None else
                                        f"[{', '.join(map(str, idx))}]")
            found = (ok, err, Worst(conf.describe(), err, where, _num(e), _num(g),
                                    "" if ok else f"{what} ({path}): |got - expected| > "
                                                  f"{tol.bound()}"))
        if worst is None or (found[0], -found[1]) < (worst[0], -worst[1]):
            worst = found
    assert worst is not None, "no output to compare"
    ok, err, w = worst
    res.record(None if err == float("inf") else err, w, not ok)
    return ok


def _raised(res: CheckResult, name: str, item, e: Exception) -> None:
    """A check that raised: a failure whose worst case is the exception."""
    text = f"{type(e).__name__}: {one_line(e, 240)}"
    describe = getattr(item, "describe", None)
    res.record(None, Worst(describe() if describe else repr(item), None, "raised",
                           "a result", text, f"{name}: torch raised {text}"), True, -1)


class Checks(ExactChecks):
    """State shared by the checks of one verify run."""

    def __init__(self, opts: Options, progress: Progress | None):
        self.opts = opts
        self.torch, self.tdtype, self.device, self.device_label = _torch_env(opts)
        self.cuda = self.device.type == "cuda"
        self.tol = tolerance(opts.dtype, opts.atol, opts.rtol, self.cuda)
        self.data = _Data(self.torch, self.tdtype, self.device, opts.seed)
        self.progress = progress or (lambda name, done, total: None)

    def run(self, name: str, items: Iterable, total: int | None, one: Callable) -> CheckResult:
        tol = "exact" if name in EXACT else (
            f"{self.tol.text()} per dtype" if name == "dtypes" else self.tol.text())
        res = CheckResult(name, CHECKS[name], tol)
        start = time.perf_counter()
        self.progress(name, 0, total)
        torch = self.torch
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            for item in items:
                try:
                    ok = one(res, item)
                except Exception as e:  # noqa: BLE001 - reported as this check's failure
                    if is_out_of_memory(e):
                        raise EnvironmentProblem(
                            f"verify ran out of memory in '{name}' ({one_line(e, 200)}); use "
                            "a smaller --input or a lower --max-memory share") from None
                    _raised(res, name, item, e)
                    ok = False
                res.cases += 1
                self.progress(name, res.cases, total)
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
        split = _np64(self.torch.cat(parts, dim=cdim))
        return self._against(res, conf, [("grouped", _np64(whole))], split, (x, w, b),
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
        per_channel = _np64(self.torch.cat(parts, dim=cdim))
        return self._against(res, conf, [("depthwise", _np64(whole))], per_channel,
                             (x, w, b), f"depthwise conv vs {c_in} single-channel convs")

    def _against(self, res, conf, outputs, expected, xwb, what: str) -> bool:
        """Two torch results against each other: both round, so twice the bound."""
        allowed = self.tol.allowed(expected, _magnitude(conf.spec, *xwb), sides=2) \
            if self.tol.calibrated else self.tol.allowed(expected, None)
        return _record_numeric(res, conf, outputs, expected, allowed, self.tol, what)

    # 5. reference == torch, both paths
    def reference(self, res: CheckResult, conf: Conf) -> bool:
        return self._reference(res, conf, self.tdtype, self.tol)

    # 6. the same in another dtype
    def dtypes(self, res: CheckResult, item: DtypeConf) -> bool:
        return self._reference(res, item.conf, getattr(self.torch, item.dtype),
                               tolerance(item.dtype, cuda=self.cuda), item.describe())

    def _reference(self, res, conf: Conf, tdtype, tol: Tolerance, label=None) -> bool:
        from convcli.engine import reference

        spec = conf.spec
        x = self.data.tensor(conf.input_shape, dtype=tdtype)
        w, b = self.data.params(spec, tdtype)
        outputs = [(f"F.{'conv_transpose' if spec.transposed else 'conv'}{spec.dims}d",
                    _np64(torch_adapter.functional(spec, x, w, b)))]
        module = torch_adapter.build_module(spec, dtype=tdtype, device=self.device)
        module.weight.copy_(w)
        if b is not None:
            module.bias.copy_(b)
        outputs.append((f"nn.{type(module).__name__}", _np64(module(x))))
        expected = reference.conv(spec, _np64(x), _np64(w), None if b is None else _np64(b))
        allowed = tol.allowed(expected, _magnitude(spec, x, w, b) if tol.calibrated else None)
        what = "torch vs the float64 numpy reference" + (f" in {tol.dtype}" if label else "")
        target = DtypeConf(tol.dtype, conf) if label else conf
        return _record_numeric(res, target, outputs, expected, allowed, tol, what)


def supported_dtypes(torch, device) -> dict[str, str | None]:
    """dtype -> None when the device runs a conv in it, else why not."""
    out: dict[str, str | None] = {}
    for name in ("float64", "float32", "bfloat16", "float16"):
        dt = getattr(torch, name)
        try:
            with torch.no_grad():
                torch.nn.functional.conv1d(torch.zeros(1, 1, 3, dtype=dt, device=device),
                                           torch.zeros(1, 1, 2, dtype=dt, device=device))
            out[name] = None
        except Exception as e:  # noqa: BLE001 - a dtype this device lacks
            out[name] = one_line(e, 160)
    return out
