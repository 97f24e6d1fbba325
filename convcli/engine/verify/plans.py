"""Which configurations each check runs: the built-in ones, the seeded random ones
(valid and invalid, from calculator/random_cases.py), the short pass in the other dtypes,
and the plan for one configuration.

The random configurations are streamed: each check draws them again from the seed as
it runs, so --cases costs time, not memory, and the first check starts at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from convcli.calculator.random_cases import Case, random_case
from convcli.calculator.spec import ConvSpec
from convcli.engine.verify.verify_results import Conf, DtypeConf, Options, check_options
from convcli.errors import ConvError


KEEP_CASES = 10_000    # up to here the random cases are kept in memory; beyond, streamed


@dataclass(frozen=True)
class Step:
    """One check of a plan: its items (made when the check starts), how many when
    that is known up front, and why it has none."""

    name: str
    items: Callable[[], Iterable]
    total: int | None = None
    reason: str = ""


def _fixed(name: str, items: list, reason: str = "") -> Step:
    return Step(name, lambda: iter(items), len(items), reason)


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


def builtin_wide() -> list[Conf]:
    """One input per dims with its last size >= 100: kernels switch code paths
    (blocking, vector tails) at widths the small cases never reach."""
    return [
        _c(1, 4, 6, 7, (2, 4, 160), padding=3),
        _c(2, 3, 8, 3, (1, 3, 10, 128), padding=1),
        _c(3, 2, 4, 3, (1, 2, 3, 5, 104), padding=(1, 1, 0)),
    ]


def builtin_reference() -> list[Conf]:
    seen, out = set(), []
    for c in builtin_grouped() + builtin_depthwise() + builtin_separable() + builtin_wide() + [
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
    counting-peers.md, the transposed exactly-0-output quirk, and torch's corners:
    empty batches, in_channels=0, negative padding in every mode, ambiguous ranks."""
    conv2 = dict(dims=2, in_channels=3, out_channels=4, kernel_size=3, transposed=False)
    text = dict(out_channels="64", kernel_size="7", stride="2", padding="3")
    return [
        Case(dict(dims=2, in_channels=16, out_channels=32, kernel_size=4, stride=2,
                  padding=1, groups=4, transposed=True), (1, 16, 8, 8)),
        Case(dict(dims=1, in_channels=2, out_channels=3, kernel_size=4, padding=2,
                  transposed=True), (2, 2, 1)),
        Case(dict(dims=2, in_channels=16, out_channels=16, kernel_size=1, groups=2,
                  transposed=False), (8, 16, 32, 32)),
        Case(dict(dims=2, in_channels=3, out_channels=8, kernel_size=4, padding="same",
                  dilation=3, transposed=False), (1, 3, 10, 11)),
        Case({**conv2, "kernel_size": 1, "padding": 1}, (0, 3, 0, 4)),   # N=0, empty H
        Case({**conv2, "padding": 1}, (0, 3, 1, 4)),        # N=0 still checks the window
        Case({**conv2, "transposed": True, "output_padding": 2}, (0, 3, 5, 5)),
        Case({**conv2, "in_channels": 0}, (2, 0, 5, 5)),    # 0 output channels
        *[Case({**conv2, "padding": -1, "padding_mode": mode}, (1, 3, 6, 5))
          for mode in ("reflect", "replicate", "circular")],
        Case({**conv2, "padding": -1}, (1, 3, 6, 5)),       # zeros mode refuses it
        Case(dict(dims=2, in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3,
                  transposed=False), (3, 224, 224), text),
        Case(dict(dims=1, in_channels=224, out_channels=64, kernel_size=7, stride=2,
                  padding=3, transposed=False), (3, 224, 224), {**text, "in_channels": "224"}),
    ]


def random_cases(seed: int, n: int) -> Iterator[Case]:
    """The seeded random cases, drawn one at a time."""
    rng = random.Random(seed)
    return (random_case(rng) for _ in range(n))


def valid_confs(cases: Iterable[Case]) -> Iterator[Conf]:
    """The cases ConvSpec accepts, as configurations for the numeric checks: those
    with values to compare (no empty input, no cropping padding: the calculator
    check covers those corners)."""
    for c in cases:
        try:
            spec = ConvSpec(**c.args)
            spec.output_shape(c.input_shape)
        except ConvError:
            continue
        if 0 in c.input_shape or any(min(p) < 0 for p in spec.padding_pairs):
            continue
        yield Conf(spec, tuple(c.input_shape))


def builtin_dtypes() -> list[Conf]:
    """The short pass in every other dtype: a grouped, a depthwise, a padding-mode, a
    transposed and a 'same' conf, and the wide inputs."""
    g, dw = builtin_grouped(), builtin_depthwise()
    return [g[1], g[5], dw[1], g[10], g[7], *builtin_wide()]


# ---- the checks -----------------------------------------------------------------


def suite_plan(opts: Options, dtypes: Iterable[str] = ()) -> list[Step]:
    """The built-in suite: fixed configurations per check, plus ``opts.cases`` random
    configurations (valid and invalid) for the calculator; the valid ones also feed
    the reference check, and those with groups > 1 the grouped/depthwise checks.
    ``dtypes``: the other dtypes the device runs, for the short dtypes pass."""
    check_options(opts)
    seed, n = opts.seed, opts.cases
    kept = None
    if n <= KEEP_CASES:      # drawn and validated once, shared by the checks
        cases = list(random_cases(seed, n))
        kept = (cases, list(valid_confs(cases)))

    def cases_():
        return iter(kept[0]) if kept else random_cases(seed, n)

    def valid(keep):
        confs = kept[1] if kept else valid_confs(random_cases(seed, n))
        return (c for c in confs if keep(c.spec))

    def chain(fixed, more):
        return lambda: (c for part in (fixed, more()) for c in part)

    others = [DtypeConf(d, c) for d in dtypes for c in builtin_dtypes()]
    return [
        Step("grouped", chain(builtin_grouped(), lambda: valid(lambda s: s.groups > 1))),
        Step("depthwise", chain(builtin_depthwise(), lambda: valid(
            lambda s: s.groups == s.in_channels > 1))),
        _fixed("separable", builtin_separable()),
        Step("calculator", chain(builtin_calculator(), cases_),
             len(builtin_calculator()) + n),
        Step("reference", chain(builtin_reference(), lambda: valid(lambda s: True))),
        _fixed("dtypes", others, "the device runs no other dtype"),
    ]


def spec_args(spec: ConvSpec) -> dict:
    """ConvSpec -> the raw keyword arguments torch's constructor gets."""
    padding = spec.padding_text if spec.padding_text in ("same", "valid") else spec.padding
    return dict(dims=spec.dims, in_channels=spec.in_channels,
                out_channels=spec.out_channels, kernel_size=spec.kernel_size,
                stride=spec.stride, padding=padding, dilation=spec.dilation,
                groups=spec.groups, bias=spec.bias, padding_mode=spec.padding_mode,
                transposed=spec.transposed, output_padding=spec.output_padding)


def config_plan(spec: ConvSpec, input_shape) -> list[Step]:
    conf = Conf(spec, tuple(input_shape))
    spec.output_shape(conf.input_shape)          # ConvError (exit 2) before any work
    g = spec.groups
    return [
        _fixed("grouped", [conf] if g > 1 else [], "groups=1: there is nothing to split"),
        _fixed("depthwise", [conf] if g == spec.in_channels > 1 else [],
               f"groups={g} != in_channels={spec.in_channels}: not depthwise"
               if g != spec.in_channels else "in_channels=1: not depthwise"),
        _fixed("separable", [] if spec.transposed or not spec.in_channels else [conf],
               "a transposed conv has no depthwise-separable counterpart here"
               if spec.transposed else "in_channels=0: no depthwise conv to build"),
        _fixed("calculator", [Case(spec_args(spec), conf.input_shape)]),
        _fixed("reference", [conf]),
    ]


def default_input(spec: ConvSpec) -> tuple[int, ...]:
    """2 x C_in x S per dim, S large enough for the kernel span: 12 or 2 * span."""
    spans = [dl * (k - 1) + 1 for k, dl in zip(spec.kernel_size, spec.dilation)]
    return (2, spec.in_channels) + tuple(max(12, 2 * s) for s in spans)
