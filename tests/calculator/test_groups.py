"""Valid groups values from the factorised gcd, summarised group lists: instant and
bounded for any channel count torch holds (int64)."""

import random

import pytest

from convcli import ConvError, ConvSpec
from convcli.calculator.groups import (compare_groups, divisors_of_both, groups_values,
                                       layout_summary, summarised, valid_groups_text)
from convcli.calculator.picture_data import picture


def test_divisors_match_brute_force():
    for a in range(1, 400):
        for b in (a, 2 * a, 360, 97):
            assert divisors_of_both(a, b) == [g for g in range(1, min(a, b) + 1)
                                              if a % g == 0 and b % g == 0]
    assert divisors_of_both(0, 12) == [1, 2, 3, 4, 6, 12]      # in_channels=0


@pytest.mark.parametrize("n, count", [
    (2 ** 63 - 1, 96), (897612484786617600, 103_680), (2147483647 * 2147483629, 4),
    (9223372036854775783, 2), (10 ** 12, 169)])
def test_divisors_of_huge_counts(n, count):
    divs = divisors_of_both(n, n)
    assert len(divs) == count and divs[0] == 1 and divs[-1] == n
    assert divs == sorted(set(divs)) and all(n % d == 0 for d in divs[:2000] + divs[-2000:])


def test_random_int64_factorisations_are_complete():
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randrange(1, 2 ** 63)
        divs = divisors_of_both(n, n)
        assert all(n % d == 0 for d in divs)
        assert all(d * e == n for d, e in zip(divs, reversed(divs)))   # they pair up


def test_the_message_lists_a_long_list_by_its_ends():
    text = valid_groups_text(10 ** 12, 10 ** 12)
    assert text.startswith("1, 2, 4, 5, 8, 10, 16, 20, 25, ...,")
    assert text.endswith("500000000000, 1000000000000 (169 values: every divisor of "
                         "1,000,000,000,000)")
    with pytest.raises(ConvError, match="169 values"):
        ConvSpec(2, 10 ** 12, 10 ** 12, 1, groups=7)


def test_summaries_keep_the_ends_and_count_the_rest():
    assert summarised(7, 4, 2) == ([0, 1, 2, 3, 4, 5, 6], 0)
    assert summarised(8, 4, 2) == ([0, 1, 2, 3, 6, 7], 2)
    spec = ConvSpec(2, 10 ** 8, 10 ** 8, 1, groups=10 ** 8)
    slices, omitted = layout_summary(spec, 32, 32)
    assert len(slices) == 64 and omitted == 10 ** 8 - 64
    assert slices[-1].group == 10 ** 8 - 1 and slices[-1].in_channels == (10 ** 8 - 1, 10 ** 8)
    pic = picture(spec)
    legend, omitted = pic.groups.legend
    assert [s.group for s in legend] == [0, 1, 2, 3, 10 ** 8 - 2, 10 ** 8 - 1]
    assert pic.as_dict()["groups"]["slices_omitted"] == 10 ** 8 - 64


def test_compare_groups_lists_the_ends_yours_and_the_gaps():
    spec = ConvSpec(2, 897612484786617600, 897612484786617600, 1, groups=16128)
    values = groups_values(spec)
    assert len(values) == 25 and sum(skipped for _, skipped in values) == 103_680 - 25
    assert 16128 in [g for g, _ in values]
    rows = compare_groups(spec)
    yours = [r for r in rows if r.yours]
    assert [r.groups for r in yours] == [16128]
    gaps = [r for r in rows if r.omitted]
    assert len(gaps) == 2 and sum(r.omitted for r in gaps) == 103_680 - 25
    base = rows[0]
    assert yours[0].saved(base) == base.params - yours[0].params > 0
