"""ConvSpec construction + output_shape, in answers per second, against a
hand-written formula in the same process.

Target (issue 14): ``ConvSpec(**args).output_shape(shape)`` >= 100,000 answers/s in
one process. The configurations are valid ones from calculator/random_cases.py (dims 1-3,
transposed, groups, 'same', padding modes, unbatched and empty inputs). Each round
times both sides over the same list, alternating which goes first, so that load on
the (shared) machine hits both alike; the figures are medians over the rounds.

    PYTHONPATH=. python benchmarks/calc_throughput.py [--configs 20000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from convcli.calculator.random_cases import random_case
from convcli.calculator.explain import explain
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError

TARGET = 100_000


def configs(n: int, seed: int = 0) -> list[tuple[dict, tuple[int, ...]]]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        case = random_case(rng, allow_invalid=False)
        try:
            ConvSpec(**case.args).output_shape(case.input_shape)
        except ConvError:
            continue
        out.append((case.args, case.input_shape))
    return out


def _t(v, d):
    return v if isinstance(v, tuple) else (v,) * d


def by_hand(args: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The formula written out for these arguments, no checks: the floor to compare
    against."""
    d = args["dims"]
    k, s, dl = _t(args["kernel_size"], d), _t(args["stride"], d), _t(args["dilation"], d)
    p = args.get("padding", 0)
    spatial = shape[-d:]
    if args["transposed"]:
        p, op = _t(p, d), _t(args.get("output_padding", 0), d)
        sizes = tuple((n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
                      for n, ki, si, di, pi, oi in zip(spatial, k, s, dl, p, op))
    elif p == "same":
        sizes = spatial
    else:
        p = _t(0 if p == "valid" else p, d)
        sizes = tuple((n + 2 * pi - di * (ki - 1) - 1) // si + 1
                      for n, ki, si, di, pi in zip(spatial, k, s, dl, p))
    c_out = args["out_channels"] if args["in_channels"] else 0   # torch: C_in=0 -> 0
    return ((shape[0], c_out) if len(shape) == d + 2 else (c_out,)) + sizes


def rate(fn, items) -> float:
    start = time.perf_counter()
    for args, shape in items:
        fn(args, shape)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()
    items = configs(a.configs)

    def convcli_answer(args, shape):
        return ConvSpec(**args).output_shape(shape)

    def explain_answer(args, shape):
        return explain(ConvSpec(**args), shape)

    assert all(convcli_answer(*c) == by_hand(*c) for c in items), "the two sides disagree"
    ours, hand, explained = [], [], []
    for r in range(a.rounds):
        sides = [(convcli_answer, ours), (by_hand, hand), (explain_answer, explained)]
        for fn, out in (sides if r % 2 == 0 else sides[::-1]):
            out.append(rate(fn, items))
    med = statistics.median
    print(f"{len(items):,} valid configurations, {a.rounds} rounds, medians:")
    print(f"  ConvSpec(**args).output_shape(shape)  {med(ours):>10,.0f} answers/s "
          f"(target >= {TARGET:,}: {'met' if med(ours) >= TARGET else 'NOT met'})")
    print(f"  explain(ConvSpec(**args), shape)      {med(explained):>10,.0f} answers/s")
    print(f"  hand-written formula, no checks       {med(hand):>10,.0f} answers/s")
    print(f"  ratio convcli / hand-written: {med(o / h for o, h in zip(ours, hand)):.2f}")


if __name__ == "__main__":
    main()
