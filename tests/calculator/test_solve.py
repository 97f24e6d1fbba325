"""`convcli solve`: every answer fed back through ConvSpec, completeness against a
brute force over ConvSpec, the order, the decoder and its ambiguity, the CLI."""

from __future__ import annotations

import random
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from convcli.errors import ConvError
from convcli.calculator.decoder import decoder
from convcli.calculator.solutions import Bounds, unread_inputs
from convcli.calculator.solve_search import Fixed, solve, solve_dim
from convcli.calculator.spec import ConvSpec


def _out(spec: ConvSpec, sizes, pairs=None):
    """Output spatial sizes, applying asymmetric padding as F.pad would (bigger input)."""
    if pairs is not None:
        sizes = [n + a + b for n, (a, b) in zip(sizes, pairs)]
    return spec.output_shape((1, 1, *sizes))[2:]


def _check(sol, size_in, size_out):
    d = len(sol.dims)
    spec = ConvSpec(d, 1, 1, sol.kernel_size, stride=sol.stride,
                    padding=sol.padding if sol.symmetric else 0, dilation=sol.dilation,
                    transposed=sol.transposed, output_padding=sol.output_padding)
    got = _out(spec, size_in, None if sol.symmetric else sol.padding_pairs)
    assert got == tuple(size_out), (sol, got)


@pytest.mark.parametrize("seed", range(6))
def test_every_forward_answer_feeds_back_through_convspec(seed):
    rng = random.Random(seed)
    for _ in range(25):
        n = rng.randint(1, 70)
        o = rng.randint(1, n + 3)
        try:
            report = solve(n, o, limit=0)
        except ConvError:
            continue
        assert report.total == len(report.solutions) > 0
        for sol in report.solutions:
            _check(sol, (n,), (o,))
            fpad = sum(sol.padding_pairs[0]) * (not sol.symmetric and not sol.uses_same)
            assert sol.spec().output_shape((1, 1, n + fpad, n + fpad))[2:] \
                == (o, o)  # the scalar answer is every dim of a 2d layer


@pytest.mark.parametrize("seed", range(4))
def test_every_transposed_answer_feeds_back(seed):
    rng = random.Random(100 + seed)
    for _ in range(25):
        n = rng.randint(1, 30)
        o = rng.randint(n, 4 * n + 6)
        try:
            report = solve(n, o, transposed=True, limit=0)
        except ConvError:
            continue
        for sol in report.solutions:
            _check(sol, (n,), (o,))
            for d, pre in zip(sol.dims, sol.conv_from):
                if pre is None:
                    continue
                conv = ConvSpec(1, 1, 1, d.kernel, stride=d.stride, padding=d.pad[0],
                                dilation=d.dilation)
                assert pre[0] <= o <= pre[1]
                for m in range(pre[0], pre[1] + 1):  # every size there maps to n
                    assert conv.output_shape((1, 1, m))[2:] == (n,)


def test_multi_dim_answers_feed_back():
    report = solve((32, 24), (16, 12), limit=0)
    assert report.total == len(report.solutions) > 100
    for sol in report.solutions[:400]:
        _check(sol, (32, 24), (16, 12))


@pytest.mark.parametrize("n,o", [(32, 16), (7, 4), (10, 10), (9, 3), (5, 7), (64, 21)])
def test_forward_search_is_complete_against_brute_force(n, o):
    """Every config ConvSpec accepts with these bounds is listed: total padding up to
    dilation*(kernel-1) (as far as the window reaches from its centre), not more."""
    bounds = Bounds(5, 3, 2, None)
    found = {(d.kernel, d.stride, d.dilation, d.pad) for d in solve_dim(n, o, bounds)}
    for k, s, dl in product(range(1, 6), range(1, 4), range(1, 3)):
        if k == 1 and dl > 1:
            continue
        for p in range(0, dl * (k - 1) + 2):
            try:
                got = ConvSpec(1, 1, 1, k, stride=s, padding=p, dilation=dl).output_shape(
                    (1, 1, n))[2]
            except ConvError:
                continue
            within = 2 * p <= dl * (k - 1)
            assert (got == o and within) == ((k, s, dl, (p, p)) in found), (k, s, dl, p)
        for a in range(0, (dl * (k - 1) + 1) // 2):  # odd totals 2a+1 <= d(k-1): F.pad a, a+1
            padded = n + 2 * a + 1
            try:
                got = ConvSpec(1, 1, 1, k, stride=s, dilation=dl).output_shape(
                    (1, 1, padded))[2]
            except ConvError:
                continue
            assert (got == o) == ((k, s, dl, (a, a + 1)) in found), (k, s, dl, a)


@pytest.mark.parametrize("n,o", [(16, 32), (7, 14), (5, 5), (3, 11)])
def test_transposed_search_is_complete_against_brute_force(n, o):
    bounds = Bounds(5, 3, 2, None)
    found = {(d.kernel, d.stride, d.dilation, d.pad[0], d.output_padding)
             for d in solve_dim(n, o, bounds, transposed=True)}
    for k, s, dl in product(range(1, 6), range(1, 4), range(1, 3)):
        if k == 1 and dl > 1:
            continue
        for p, op in product(range(0, dl * (k - 1) + 1), range(0, 3)):
            try:
                got = ConvSpec(1, 1, 1, k, stride=s, padding=p, dilation=dl, transposed=True,
                               output_padding=op).output_shape((1, 1, n))[2]
            except ConvError:
                continue
            assert (got == o) == ((k, s, dl, p, op) in found), (k, s, dl, p, op)


def test_order_reads_every_input_symmetric_first_then_common_kernels():
    sols = solve(64, 32, limit=0).solutions
    first = [(s.kernel_size[0], s.stride[0], s.padding) for s in sols[:6]]
    assert first == [(3, 2, (1,)), (5, 2, (2,)), (7, 2, (3,)), (2, 2, (0,)), (4, 2, (1,)),
                     (6, 2, (2,))]
    tiers = [s.dims[0].unread > 0 or not s.symmetric for s in sols]
    assert tiers == sorted(tiers)          # every input read, symmetric: first
    k1 = next(i for i, s in enumerate(sols) if s.kernel_size == (1,))
    assert "32 inputs never read" in sols[k1].notes[0] and tiers[k1]
    plain = [s for s in sols if not tiers[sols.index(s)] and s.dilation == (1,)]
    ranks = [(3, 1, 5, 7, 2, 4, 6).index(s.kernel_size[0]) for s in plain]
    assert ranks == sorted(ranks)


def test_transposed_7_to_14_leads_with_even_overlap_and_no_output_padding():
    sols = solve(7, 14, transposed=True, limit=0).solutions
    assert (sols[0].kernel_size, sols[0].stride, sols[0].padding) in (
        ((2,), (2,), (0,)), ((4,), (2,), (1,)))
    assert sols[1].kernel_size == (4,) and sols[1].padding == (1,)
    k1 = next(i for i, s in enumerate(sols) if s.kernel_size == (1,))
    assert k1 > 2 and sols[k1].output_padding == (1,)
    assert sols[k1].dims[0].unread == 7     # k1 s2 writes only the even outputs


def test_output_larger_than_input_is_the_transposed_conv_s_job():
    """By default a Conv pads no further than its window reaches from its centre, so
    it cannot grow a size: 7 -> 14 is refused with the transposed answer (issue 20:
    it listed padding 8 with dilation 3). --max-padding opts in, with the advice."""
    with pytest.raises(ConvError, match=r"no Conv .* maps 7 -> 14; 7 -> 14 grows the size: "
                       r"upsampling is a transposed conv's job, e.g. "
                       r"nn.ConvTranspose2d\(C_in, C_out, 2, stride=2\)"):
        solve(7, 14)
    with pytest.raises(ConvError, match="grows the size"):
        solve(7, 8)
    report = solve(7, 14, Bounds(max_padding=11), limit=0)
    assert report.advice.startswith("7 -> 14 grows the size")
    assert report.solutions and all(
        sum(s.dims[0].pad) > s.dilation[0] * (s.kernel_size[0] - 1) for s in report.solutions)
    assert report.alternative.transposed and report.alternative.kernel_size == (2,)
    assert "nn.ConvTranspose2d(C_in, C_out, 2, stride=2)" in report.advice
    assert solve(64, 32).advice is None and solve(7, 14, transposed=True).advice is None
    assert "shrinks the size" in solve(14, 7, transposed=True).advice
    with pytest.raises(ConvError, match="upsampling is a transposed conv's job, e.g. "
                                        r"nn.ConvTranspose2d\(C_in, C_out, 6, stride=4\)"):
        solve(7, 30)


@pytest.mark.parametrize("n,o", [(32, 16), (28, 28), (9, 3), (10, 10), (64, 21), (3, 3)])
def test_every_default_answer_is_torch_s_and_pads_no_further_than_same(n, o):
    """torch maps n to o with every forward answer (F.pad before and after, then the
    conv), and none pads more in all than dilation*(kernel-1), 'same''s padding."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    sols = solve(n, o, limit=0).solutions
    assert sols
    for sol in sols:
        d = sol.dims[0]
        assert sum(d.pad) <= d.dilation * (d.kernel - 1), sol.torch_code()
        x = F.pad(torch.zeros(1, 1, n), d.pad)
        y = F.conv1d(x, torch.zeros(1, 1, d.kernel), stride=d.stride, dilation=d.dilation)
        assert y.shape[-1] == o, sol.torch_code()


def test_uniform_answers_first_for_two_dims():
    sols = solve((32, 24), (16, 12), limit=5).solutions
    assert all(len(set(s.kernel_size)) == 1 for s in sols[:2])


def test_pinned_values_and_bounds():
    sols = solve(32, 16, fixed=Fixed(kernel_size=3), limit=0).solutions
    assert sols and all(s.kernel_size == (3,) for s in sols)
    sols = solve(32, 16, bounds=Bounds(7, 2, 1, 0), limit=0).solutions
    assert {(s.kernel_size[0], s.padding) for s in sols} == {(1, (0,)), (2, (0,))}


def test_unread_inputs():
    assert unread_inputs(32, 16, 1, 2, 1, 0, 0) == 16
    assert unread_inputs(32, 16, 3, 2, 1, 1, 1) == 0
    assert unread_inputs(7, 2, 3, 3, 1, 0, 0) == 1  # input 6 is past the last window
    assert unread_inputs(10 ** 12, 5 * 10 ** 11, 1, 2, 1, 0) == 5 * 10 ** 11  # arithmetic


@settings(max_examples=examples(2000), deadline=None)
@given(size=st.integers(0, 40), out=st.integers(0, 40), k=st.integers(1, 9),
       s=st.integers(1, 9), dl=st.integers(1, 9), before=st.integers(-5, 20))
def test_unread_inputs_counts_what_no_window_reads(size, out, k, s, dl, before):
    read = {o * s - before + t * dl for o in range(out) for t in range(k)}
    assert unread_inputs(size, out, k, s, dl, before) == size - len(read & set(range(size)))


@pytest.mark.parametrize("args", [
    ("--input-size", "1000000000000", "--output-size", "500000000000"),
    ("--input-size", "64", "--output-size", "32", "--max-padding", "1000000000"),
    ("--transposed", "--input-size", "7", "--output-size", "14", "--max-padding", "1000000000"),
])
def test_huge_sizes_and_bounds_answer_at_once(cli, args):
    r = cli("solve", *args, "--json")
    assert r.exit_code == 0, r.stderr
    best = r.json()["solutions"][0]
    assert best["notes"] == [] and best["symmetric"]


@pytest.mark.parametrize("args, words", [
    (("--input-size", "32", "--output-size", "16", "-k", "1000000000000"), "more than solve pins"),
    (("--transposed", "--input-size", "1000000000000", "-k", "3", "-s", "1000000000000"),
     "solve pins strides up to 10,000"),
    (("--input-size", "64", "--output-size", "32", "-s", "10000", "--max-padding", "100000000"),
     "more than 100,000 settings"),
    (("--input-size", "٣٢", "--output-size", "16"), "only the ASCII digits"),
    (("--input-size", "32", "--output-size", "16", "--max-kernel", "٣"), "only the ASCII digits"),
    (("--input-size", "1" * 4301, "--output-size", "16"), "4,301 digits"),
    (("--input-size", "32", "--output-size", "16", "--max-padding", "9" * 30), "int64"),
])
def test_huge_or_foreign_numbers_are_refused_in_one_line(cli, args, words):
    r = cli("solve", *args)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("Error: ") and words in r.stderr, r.stderr
    assert r.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("seed", range(3))
def test_decoder_restores_the_input_exactly(seed):
    rng = random.Random(seed)
    for _ in range(40):
        k, s, dl = rng.randint(1, 6), rng.randint(1, 4), rng.randint(1, 2)
        p = rng.randint(0, dl * (k - 1))
        n = rng.randint(dl * (k - 1) + 1, 60)
        enc = ConvSpec(2, 3, 5, k, stride=s, padding=p, dilation=dl)
        rep = decoder(enc, n)
        code = enc.output_shape((1, 3, n, n))
        assert rep.decoder.output_shape(code) == (1, 3, n, n)
        d0 = rep.dims[0]
        assert n in d0.preimage and len(d0.preimage) <= s
        for m in d0.preimage:
            assert enc.output_shape((1, 3, m, m))[2] == d0.size_code
        below = d0.preimage[0] - 1
        if below >= 1:
            try:
                assert enc.output_shape((1, 3, below, below))[2] != d0.size_code
            except ConvError:
                pass
        above = d0.preimage[-1] + 1
        assert enc.output_shape((1, 3, above, above))[2] != d0.size_code


def test_decoder_refuses_asymmetric_same():
    with pytest.raises(ConvError, match="asymmetrically"):
        decoder(ConvSpec(2, 1, 1, 4, padding="same"), 8)


# ---- CLI ----------------------------------------------------------------------------

def test_cli_json_solutions(cli):
    r = cli("solve", "--input-size", "32", "--output-size", "16", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    first = data["solutions"][0]
    assert {"kernel_size", "stride", "padding", "dilation"} <= set(first)
    assert (first["kernel_size"], first["stride"], first["padding"], first["dilation"]) == \
        (3, 2, 1, 1)
    assert data["advice"] is None and data["alternative"] is None
    assert data["total"] >= data["shown"] == len(data["solutions"]) == 12
    data = cli("solve", "--input-size", "32", "--output-size", "16", "--json", "-n", "0").json()
    asym = next(s for s in data["solutions"] if not s["symmetric"])
    assert asym["padding"] is None and asym["f_pad"] == [0, 1, 0, 1]


def test_cli_per_dim_sizes(cli):
    r = cli("solve", "--input-size", "32x24", "--output-size", "16x12", "--json", "-n", "3")
    assert r.exit_code == 0, r.stderr
    assert r.json()["solutions"][0]["kernel_size"] == [3, 3]
    assert r.json()["solutions"][1]["kernel_size"] == [5, 5]


def test_cli_decoder(cli):
    r = cli("solve", "--transposed", "--input-size", "32", "-k", "3", "-s", "2", "-p", "1", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["output_padding"] == [1, 1] and data["ambiguous"] is True
    assert data["dims"][0]["preimage"] == [31, 32]
    assert data["decoder"] == ("ConvTranspose2d(C_out, C_in, 3, stride=2, padding=1, "
                               "output_padding=1)")
    r = cli("solve", "--transposed", "--input-size", "32", "-k", "3", "-s", "2", "-p", "1")
    assert "output_padding=1" in r.stdout and "31" in r.stdout
    data = cli("solve", "--transposed", "--input-size", "32", "-k", "3", "-s", "2", "-p", "1",
               "-i", "8", "-o", "16", "--json").json()
    assert data["decoder"].startswith("ConvTranspose2d(16, 8, 3")
    r = cli("solve", "--transposed", "--input-size", "32", "-k", "3", "-i", "8")
    assert r.exit_code == 2 and "both --in-channels and --out-channels" in r.stderr


@pytest.mark.parametrize("args,words", [
    (("--input-size", "8", "--output-size", "32"), "--transposed"),
    (("--input-size", "32"), "--output-size is required"),
    (("--input-size", "32", "--output-size", "0"), "at least 1"),
    (("--input-size", "32x24x8x8", "--output-size", "16"), "1 to 3"),
    (("--input-size", "32", "--output-size", "16", "--max-stride", "0"), "--max-stride"),
    (("--input-size", "32", "--output-size", "16", "-p", "same"), "'same'"),
    (("--input-size", "32", "--output-size", "16", "--max-kernel", "1000", "--max-stride", "1000"),
     "combinations"),
    (("--input-size", "32x24x16", "--output-size", "16x12x8", "-n", "0"), "at most 20,000"),
])
def test_cli_errors_are_one_line_exit_2(cli, args, words):
    r = cli("solve", *args, "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith("Error: ") and words in r.stderr
    assert r.stderr.strip().count("\n") == 0


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 90), k=st.integers(1, 7), s=st.integers(1, 4), dl=st.integers(1, 3),
       data=st.data())
def test_round_trip_a_conv_is_among_the_answers_for_its_own_sizes(n, k, s, dl, data):
    """Any conv within the default bounds, run forward, is found again by solve (and
    its transposed twin by solve --transposed)."""
    dl = 1 if k == 1 else dl
    p = data.draw(st.integers(0, dl * (k - 1) // 2))
    spec = ConvSpec(1, 1, 1, k, stride=s, padding=p, dilation=dl)
    try:
        o = spec.output_shape((1, 1, n))[2]
    except ConvError:
        return
    found = {(d.kernel, d.stride, d.dilation, d.pad) for d in solve_dim(n, o, Bounds())}
    assert (k, s, dl, (p, p)) in found
    op = data.draw(st.integers(0, max(s, dl) - 1))
    t = ConvSpec(1, 1, 1, k, stride=s, padding=p, dilation=dl, transposed=True,
                 output_padding=op)
    try:
        m = t.output_shape((1, 1, n))[2]
    except ConvError:
        return
    found = {(d.kernel, d.stride, d.dilation, d.pad[0], d.output_padding)
             for d in solve_dim(n, m, Bounds(), transposed=True)}
    assert (k, s, dl, p, op) in found
