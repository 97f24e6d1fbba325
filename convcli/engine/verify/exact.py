"""verify's exact checks: the depthwise-separable block (shapes, params, MACs) and
the calculator against real CPU forward passes (validity, shape, params, MACs).

MACs come from torch.utils.flop_counter's own formula (``torch_adapter.conv_macs``)
on the shapes torch produced, never from FlopCounterMode: its first use imports
torch._dynamo, sympy and inductor, seconds of CPU for a number the formula gives
(tests/engine/test_verify_light.py pins that the two agree). torch is imported
inside functions.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import Any

from convcli.calculator.random_cases import Case
from convcli.calculator.groups import compare_groups
from convcli.calculator.interpret import read_spec
from convcli.calculator.spec import ConvSpec
from convcli.engine import torch_adapter
from convcli.engine.verify.verify_results import CheckResult, Conf, Worst
from convcli.errors import ConvError
from convcli.formatting import shape_x


def _fact(v) -> str:
    if isinstance(v, Fraction):
        return f"{float(v):.6g} ({v})"
    return f"{v:,}" if isinstance(v, int) else str(v)


def record_exact(res: CheckResult, configuration: str, facts) -> bool:
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


class ExactChecks:
    """The exact checks; mixed into verify's Checks (self.torch, self.tdtype,
    self.device, self.data)."""

    torch: Any
    tdtype: Any
    device: Any
    data: Any

    # 3. depthwise-separable block
    def separable(self, res: CheckResult, conf: Conf) -> bool:
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
        mid = dw(x)
        out = pw(mid)
        block_macs = (torch_adapter.conv_macs(dw_spec, shape, tuple(mid.shape))
                      + torch_adapter.conv_macs(pw_spec, tuple(mid.shape), tuple(out.shape)))
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
            ("block MACs (compare_groups vs torch's conv_flop_count/2)", block_row.macs,
             block_macs),
            ("saving vs groups=1", Fraction(base.params - block_row.params, base.params),
             Fraction(n_std - n_dw - n_pw, n_std)),
        ]
        if not spec.bias:
            facts.append(("params ratio == 1/C_out + 1/K", Fraction(1, c_out) + Fraction(1, kk),
                          Fraction(n_dw + n_pw, n_std)))
        return record_exact(res, conf.describe() + " -> depthwise-separable", facts)

    # 4. calculator == torch
    def calculator(self, res: CheckResult, case: Case) -> bool:
        torch = self.torch
        shape = tuple(case.input_shape)
        pred: tuple[int, ...] | None = None
        truth: tuple[int, ...] | None = None
        pred_err: str | None = None
        truth_err: str | None = None
        spec: ConvSpec | None = None
        module: Any = None
        try:   # the layer as given, or as read from a user's text (rank, -i, --dims)
            spec = (read_spec(**case.text, input_shape=shape)[0] if case.text is not None
                    else ConvSpec(**case.args))
            pred = tuple(spec.output_shape(shape))
        except ConvError as e:
            pred_err = str(e)
        try:
            module = torch_adapter.module_from_args(case.args)
            truth = tuple(module(torch.zeros(shape)).shape)
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
            got = "accepted, output " + shape_x(truth or ()) if truth_err is None else \
                "rejected (" + truth_err[:160] + ")"
            exp = "rejected (" + pred_err[:160] + ")" if pred_err else \
                "accepted, output " + shape_x(pred or ())
            res.record(None, Worst(where, None, "validity", exp, got,
                                   "ConvSpec and a real CPU forward pass disagree on "
                                   "whether this conv is valid"), True)
            return False
        assert spec is not None and module is not None   # both accepted it
        facts = [("output shape", pred, truth),
                 ("params", spec.num_params, sum(p.numel() for p in module.parameters())),
                 ("MACs (torch's conv_flop_count / 2)", spec.macs(shape),
                  torch_adapter.conv_macs(spec, shape, truth))]
        return record_exact(res, where, facts)

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
