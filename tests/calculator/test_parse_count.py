"""parse_count: counts with SI suffixes (the budgets' N), exact for any digits."""

import pytest

from convcli.calculator.parse import parse_count
from convcli.errors import ConvError


@pytest.mark.parametrize("text, value", [
    ("25M", 25_000_000), ("4.1G", 4_100_000_000), ("1500", 1500), ("2.5k", 2500),
    ("2.5K", 2500), ("1e3", 1000), ("25_000_000", 25_000_000), (" 3 T ", 3 * 10 ** 12),
    ("0", 0), (".5k", 500), ("1.23456789G", 1_234_567_890)])
def test_counts(text, value):
    assert parse_count(text, "--max-params") == value


@pytest.mark.parametrize("text, message", [
    ("-5", "is not a count"), ("", "is not a count"), ("25Q", "is not a count"),
    ("1.5", "not a whole number"), ("1.0001k", "not a whole number"),
    ("1e400", "is more than"), ("25MiB", "is not a count"), ("nan", "is not a count"),
    ("1" * 50, "is not a count")])
def test_bad_counts_name_the_option(text, message):
    with pytest.raises(ConvError, match="^--max-macs: .*" + message):
        parse_count(text, "--max-macs")
