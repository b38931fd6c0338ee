"""Exact number conversions of hedgegate.host.numbers, against hand-worked values."""

import random
from decimal import Decimal as D, localcontext

import pytest

from hedgegate.host.numbers import (check_range, check_signed, check_unsigned, fixed_to_str, format_milli,
                                    gamma_to_q32, milli_to_json, parse_decimal, ratio_to_q16, rha_shift,
                                    round_half_away, saturate, to_milli)


@pytest.mark.parametrize("text", ["45", "45.5", "-0.0005", "+1.25", "007", "0.000", "-0"])
def test_parse_decimal_accepts(text):
    assert parse_decimal(text) == D(text)


@pytest.mark.parametrize("text", [".5", "5.", "1e3", "1E3", " 1", "1 ", "", "+", "-", "nan", "inf", "1_000",
                                  "--1", "1.2.3", "\u0663", "0x10", "1,5"])
def test_parse_decimal_rejects(text):
    with pytest.raises(ValueError, match="is not a decimal number"):
        parse_decimal(text)


@pytest.mark.parametrize("x, expected", [
    ("0.5", 1), ("-0.5", -1), ("1.5", 2), ("2.5", 3), ("-2.5", -3),      # ties go away from zero
    ("0.49999", 0), ("-0.49999", 0), ("0.50001", 1), ("-1.50001", -2), ("7", 7), ("-0", 0),
])
def test_round_half_away(x, expected):
    assert round_half_away(D(x)) == expected


def test_round_half_away_types():
    assert round_half_away(-12) == -12
    with pytest.raises(TypeError):
        round_half_away(0.5)
    with pytest.raises(ValueError):
        round_half_away(D("NaN"))


@pytest.mark.parametrize("x, milli", [
    ("45.505", 45505), ("45.0005", 45001), ("-0.0005", -1), ("45.00049", 45000), ("-45.0005", -45001),
    ("0.0004", 0), ("-0.0004", 0), ("2147483.6474", 2147483647), ("2147483.6475", 2147483648),
    ("-2147483.648", -2147483648), ("12.3400000000000000000000000000000000000000", 12340),
    # 100 nines: a working precision below the input's length would round to 0.0005 first and give 1
    ("0.0004" + "9" * 100, 0),
    ("1E-999999999", 0),
])
def test_to_milli(x, milli):
    assert to_milli(D(x)) == milli


def test_to_milli_int_and_float():
    assert to_milli(45) == 45000
    assert to_milli(-3) == -3000
    with pytest.raises(TypeError):
        to_milli(45.5)


@pytest.mark.parametrize("x, q", [
    ("1.125", 73728),        # 1.125 * 65536 exactly
    ("1", 65536), ("0.8", 52429), ("-0.8", -52429),   # 52428.8
    ("0.00000762939453125", 1), ("-0.00000762939453125", -1),   # exactly 0.5 / 65536: a tie
    ("0.00000762939453124", 0),
    ("32767.9999847412109375", 2**31 - 1), ("-32768", -2**31),
])
def test_ratio_to_q16(x, q):
    assert ratio_to_q16(D(x)) == q


@pytest.mark.parametrize("x, q", [
    ("1", 4294967),          # 2^32 / 1000 = 4294967.296
    ("0.001", 4295),         # 4294.967296
    ("-0.001", -4295),
    ("0.25", 1073742),       # 2^30 / 1000 = 1073741.824
    ("0.000000116415321826934814453125", 1),     # 500 / 2^32: exactly 0.5 after scaling, a tie
    ("-0.000000116415321826934814453125", -1),
    ("0.000000116415321826934814453124", 0),
    ("499.99999976716935634613037109375", 2**31 - 1),   # (2^31 - 1) * 1000 / 2^32
    ("0", 0),
])
def test_gamma_to_q32(x, q):
    assert gamma_to_q32(D(x)) == q


@pytest.mark.parametrize("milli, text", [(45035, "45.035"), (-1, "-0.001"), (0, "0"), (45500, "45.5"),
                                         (45000, "45"), (-2147483648, "-2147483.648"), (100, "0.1")])
def test_format_milli(milli, text):
    assert format_milli(milli) == text
    assert to_milli(parse_decimal(text)) == milli


def test_format_milli_round_trips():
    rng = random.Random(1)
    for _ in range(10000):
        m = rng.randrange(-10**12, 10**12)
        assert to_milli(parse_decimal(format_milli(m))) == m


def test_fixed_to_str():
    assert fixed_to_str(2**31 - 1, 65536) == "32767.9999847412109375"
    assert fixed_to_str(-2**31 * 1000, 2**32) == "-500"
    assert fixed_to_str(-1, 1000) == "-0.001"
    assert fixed_to_str(0, 65536) == "0"


def test_milli_to_json():
    assert milli_to_json(45035) == 45.035 and repr(milli_to_json(45035)) == "45.035"
    assert repr(milli_to_json(-1)) == "-0.001"
    limit = 1000 * 2**43
    assert repr(milli_to_json(limit - 1)) == "8796093022207.999"
    assert repr(milli_to_json(-limit + 1)) == "-8796093022207.999"
    rng = random.Random(2)
    for _ in range(20000):
        m = rng.choice([rng.randrange(-10**6, 10**6), rng.randrange(-limit + 1, limit),
                        rng.randrange(limit - 10**6, limit)])
        assert D(repr(milli_to_json(m))) == D(m).scaleb(-3)
    # (2^53 - 1) / 1000 would print as 9007199254740.99: out of the exact range, refused
    assert repr((2**53 - 1) / 1000) == "9007199254740.99"
    for m in (limit, -limit, 2**53 - 1):
        with pytest.raises(ValueError):
            milli_to_json(m)


@pytest.mark.parametrize("x, k, expected", [
    (3, 1, 2), (-3, 1, -2),    # 1.5 -> 2, -1.5 -> -2
    (1, 1, 1), (-1, 1, -1),    # 0.5 -> 1, -0.5 -> -1
    (5, 2, 1), (-5, 2, -1),    # 1.25
    (6, 2, 2), (-6, 2, -2),    # 1.5
    (7, 2, 2), (-7, 2, -2),    # 1.75
    (0, 5, 0), (2**40, 8, 2**32),
])
def test_rha_shift(x, k, expected):
    assert rha_shift(x, k) == expected


def test_rha_shift_matches_decimal():
    rng = random.Random(3)
    with localcontext(prec=200):   # x / 2^k has at most 22 + 64 significant digits: exact
        for _ in range(5000):
            x, k = rng.randrange(-2**70, 2**70), rng.randrange(1, 64)
            if rng.random() < 0.3:
                x = (2 * rng.randrange(-2**40, 2**40) + 1) << (k - 1)   # an exact tie
            assert rha_shift(x, k) == round_half_away(D(x) / D(2**k))
    with pytest.raises(ValueError):
        rha_shift(1, 0)


def test_saturate_and_fits():
    assert [saturate(x, 10) for x in (-11, -10, 0, 10, 11)] == [-10, -10, 0, 10, 10]
    assert check_signed(-128, 8) and check_signed(127, 8) and not check_signed(128, 8) and not check_signed(-129, 8)
    assert check_unsigned(0, 8) and check_unsigned(255, 8) and not check_unsigned(256, 8)
    assert not check_unsigned(-1, 8)


def test_check_range_messages():
    assert check_range(5, 1, 9) == 5
    with pytest.raises(ValueError, match=r"^must be >= 1, got 0$"):
        check_range(0, 1, 9)
    with pytest.raises(ValueError, match=r"^must be <= 2147483\.647, got 2147483\.6476$"):
        check_range(2147483648, -2**31, 2**31 - 1, show=format_milli, got="2147483.6476")
    with pytest.raises(ValueError, match=r"^must be <= 9, got 99999999999999999999\.\.\. \(50 characters\)$"):
        check_range(10**50 - 1, 1, 9)
