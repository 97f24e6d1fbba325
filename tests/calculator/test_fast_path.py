"""output_shape (sizes only) and explain (formulas) give the same answers and the
same ConvError messages on 20,000 random configurations from calculator/random_cases.py
(2,000 in the fast loop), and each explain formula, evaluated, is the size
output_shape returns."""

import math
import random

from conftest import examples
from convcli import ConvError, ConvSpec
from convcli.calculator.random_cases import random_case
from convcli.calculator.explain import explain


def _outcome(call):
    try:
        return call(), None
    except ConvError as e:
        return None, str(e)


def test_fast_path_and_explain_agree_on_20000_configs():
    rng = random.Random(14)
    compared = errors = 0
    n = examples(20_000)
    for _ in range(n):
        case = random_case(rng)
        try:
            spec = ConvSpec(**case.args)
        except ConvError:
            continue
        shape = case.input_shape
        fast, fast_err = _outcome(lambda: spec.output_shape(shape))
        slow, slow_err = _outcome(lambda: explain(spec, shape))
        assert fast_err == slow_err, case.describe()
        compared += 1
        if fast_err:
            errors += 1
            continue
        d = spec.dims
        assert fast[-d:] == tuple(e.size_out for e in slow), case.describe()
        for e in slow:   # the formula written out is the size computed
            assert eval(e.formula, {"floor": math.floor}) == e.size_out, (e, case.describe())
        channels = shape[1] if len(shape) == d + 2 else shape[0]
        assert fast[:-d] == shape[:-d - 1] + (spec.out_channels if channels else 0,)
    assert compared > 0.9 * n and n / 20 < errors < compared - n / 4   # both kinds drawn
