"""The CSV tick format: its row rules (hedgegate.host.ticks) and its column-wise reader and writer
(hedgegate.host.marketdata.csv), which must accept, reject and convert exactly as the rules do."""

import random

import pytest

from hedgegate.host import ticks as ticks_mod
from hedgegate.host.errors import InputError
from hedgegate.host.numbers import format_milli, parse_decimal, to_milli
from hedgegate.host.marketdata import load_ticks as load_any, write_ticks
from hedgegate.host.ticks import HEADER, Side, Tick, parse_ticks
from hedgegate.hw.params import CoreParams

P = CoreParams()                       # 4 symbols, 32-bit prices and quantities
H = HEADER + "\n"


def load_ticks(path, params):
    """The CSV through the one loader, as a list of Ticks."""
    return load_any(path, params, format="csv").to_list()


def test_side_codes():
    assert [Side.BID, Side.ASK, Side.TRADE, Side.CLEAR] == [0, 1, 2, 3]


def test_parse_basic():
    text = H + "100,0,bid,45.5,10\n200,3,ask,-0.0005,0\n300,1,trade,45.0005,7\n400,2,clear,0,0\n"
    assert parse_ticks(text, P) == [
        Tick(100, 0, Side.BID, 45500, 10),
        Tick(200, 3, Side.ASK, -1, 0),
        Tick(300, 1, Side.TRADE, 45001, 7),
        Tick(400, 2, Side.CLEAR, 0, 0),
    ]
    assert type(parse_ticks(text, P)[0].side) is Side


@pytest.mark.parametrize("price, milli", [
    ("45", 45000), ("45.035", 45035), ("45.505", 45505), ("45.00049", 45000), ("+1.25", 1250), ("-0", 0),
    ("-0.000", 0), ("007.5", 7500), ("2147483.6474", 2147483647), ("-2147483.648", -2147483648),
    ("-2147483.6484", -2147483648), ("0.0005", 1), ("-1.0005", -1001), ("1.23449999", 1234),
])
def test_prices(price, milli):
    assert parse_ticks(H + f"1,0,trade,{price},1\n", P)[0].price == milli


def test_line_endings_and_inputs():
    expected = [Tick(1, 0, Side.BID, 1000, 2), Tick(2, 1, Side.ASK, 2000, 3)]
    assert parse_ticks(H + "1,0,bid,1,2\n2,1,ask,2,3\n", P) == expected
    assert parse_ticks(H + "1,0,bid,1,2\n2,1,ask,2,3", P) == expected                   # no final newline
    assert parse_ticks(HEADER + "\r\n1,0,bid,1,2\r\n2,1,ask,2,3\r\n", P) == expected     # CRLF
    assert parse_ticks([HEADER + "\n", "1,0,bid,1,2\n", "2,1,ask,2,3"], P) == expected   # iterable of lines
    assert parse_ticks([HEADER, "1,0,bid,1,2", "2,1,ask,2,3"], P) == expected
    assert parse_ticks(H, P) == [] and parse_ticks(HEADER, P) == []


def test_limits():
    last = H + f"{2**64 - 1},3,bid,2147483.647,{2**32 - 1}\n"
    assert parse_ticks(last, P) == [Tick(2**64 - 1, 3, Side.BID, 2**31 - 1, 2**32 - 1)]
    narrow = CoreParams(symbols=1, price_width=16, qty_width=8)
    assert parse_ticks(H + "0,0,ask,-32.768,255\n", narrow) == [Tick(0, 0, Side.ASK, -32768, 255)]


@pytest.mark.parametrize("text, error", [
    ("", "ticks.csv:1: header: empty file, expected the header 'ts_ns,symbol,side,price,qty'"),
    ("1,0,bid,1,1\n", "ticks.csv:1: header: expected 'ts_ns,symbol,side,price,qty', got '1,0,bid,1,1'"),
    ("\n" + H, "ticks.csv:1: header: expected 'ts_ns,symbol,side,price,qty', got ''"),
    ("ts_ns, symbol,side,price,qty\n", "ticks.csv:1: header: expected 'ts_ns,symbol,side,price,qty', "
     "got 'ts_ns, symbol,side,price,qty'"),
    ("TS_NS,SYMBOL,SIDE,PRICE,QTY\n", "ticks.csv:1: header: expected 'ts_ns,symbol,side,price,qty', "
     "got 'TS_NS,SYMBOL,SIDE,PRICE,QTY'"),
    (H + "1,0,bid,1,1\n\n2,0,bid,1,1\n", "ticks.csv:3: row: blank line"),
    (H + "1,0,bid,1,1\n  \t\n", "ticks.csv:3: row: blank line"),
    (H + "1,0,bid,1,1\n\n", "ticks.csv:3: row: blank line"),        # one final newline is fine, two are not
    (H + "1,0,bid,1,1\r\n\r\n", "ticks.csv:3: row: blank line"),
    (H + "1,0,bid,1\n", "ticks.csv:2: row: expected 5 fields (ts_ns,symbol,side,price,qty), got 4"),
    (H + "1,0,bid,1,1,\n", "ticks.csv:2: row: expected 5 fields (ts_ns,symbol,side,price,qty), got 6"),
    (H + "1,0,bid,\"1,5\",1\n", "ticks.csv:2: row: expected 5 fields (ts_ns,symbol,side,price,qty), got 6"),
    (H + "x,0,bid,1,1\n", "ticks.csv:2: ts_ns: 'x' is not a non-negative integer"),
    (H + "-1,0,bid,1,1\n", "ticks.csv:2: ts_ns: '-1' is not a non-negative integer"),
    (H + "+1,0,bid,1,1\n", "ticks.csv:2: ts_ns: '+1' is not a non-negative integer"),
    (H + "1.0,0,bid,1,1\n", "ticks.csv:2: ts_ns: '1.0' is not a non-negative integer"),
    (H + ",0,bid,1,1\n", "ticks.csv:2: ts_ns: '' is not a non-negative integer"),
    (H + f"{2**64},0,bid,1,1\n", "ticks.csv:2: ts_ns: must be <= 18446744073709551615, got 18446744073709551616"),
    (H + "1,4,bid,1,1\n", "ticks.csv:2: symbol: must be <= 3, got 4"),
    (H + "1, 0,bid,1,1\n", "ticks.csv:2: symbol: ' 0' is not a non-negative integer"),
    (H + "1,\u0663,bid,1,1\n", "ticks.csv:2: symbol: '\u0663' is not a non-negative integer"),   # Arabic 3
    (H + "1,0,BID,1,1\n", "ticks.csv:2: side: 'BID' is not one of bid, ask, trade, clear"),
    (H + "1,0,sell,1,1\n", "ticks.csv:2: side: 'sell' is not one of bid, ask, trade, clear"),
    (H + "1,0,bid,45.x,1\n", "ticks.csv:2: price: '45.x' is not a decimal number"),
    (H + "1,0,bid,1e3,1\n", "ticks.csv:2: price: '1e3' is not a decimal number"),
    (H + "1,0,bid,.5,1\n", "ticks.csv:2: price: '.5' is not a decimal number"),
    (H + "1,0,bid,5.,1\n", "ticks.csv:2: price: '5.' is not a decimal number"),
    (H + "1,0,bid,nan,1\n", "ticks.csv:2: price: 'nan' is not a decimal number"),
    (H + "1,0,bid, 1,1\n", "ticks.csv:2: price: ' 1' is not a decimal number"),
    (H + "1,0,bid,2147483.648,1\n", "ticks.csv:2: price: must be <= 2147483.647, got 2147483.648"),
    (H + "1,0,bid,2147483.6475,1\n", "ticks.csv:2: price: must be <= 2147483.647, got 2147483.6475"),
    (H + "1,0,bid,-2147483.6485,1\n", "ticks.csv:2: price: must be >= -2147483.648, got -2147483.6485"),
    (H + "1,0,bid,1,4294967296\n", "ticks.csv:2: qty: must be <= 4294967295, got 4294967296"),
    (H + "1,0,bid,1,-1\n", "ticks.csv:2: qty: '-1' is not a non-negative integer"),
    (H + "1,0,bid,1,1.5\n", "ticks.csv:2: qty: '1.5' is not a non-negative integer"),
    # every row is validated the same way whatever its side
    (H + "1,0,clear,x,1\n", "ticks.csv:2: price: 'x' is not a decimal number"),
    (H + "1,0,clear,0,\n", "ticks.csv:2: qty: '' is not a non-negative integer"),
    (H + "1,9,trade,0,0\n", "ticks.csv:2: symbol: must be <= 3, got 9"),
    # the first bad column is reported
    (H + "1,9,sell,x,-1\n", "ticks.csv:2: symbol: must be <= 3, got 9"),
    # absurdly long fields give short messages
    (H + "1,0,bid," + "9" * 6000 + ",1\n", "ticks.csv:2: price: must be <= 2147483.647, "
     "got 99999999999999999999... (6000 characters)"),
    (H + "9" * 5000 + ",0,bid,1,1\n", "ticks.csv:2: ts_ns: must be <= 18446744073709551615, "
     "got 99999999999999999999... (5000 characters)"),
    # line numbers count every physical line
    (HEADER + "\r\n" + "1,0,bid,1,1\r\n" * 5 + "1,0,bid,1,x\r\n",
     "ticks.csv:7: qty: 'x' is not a non-negative integer"),
])
def test_errors(text, error):
    with pytest.raises(InputError) as info:
        parse_ticks(text, P, "ticks.csv")
    assert str(info.value) == error


def test_narrow_params_errors():
    narrow = CoreParams(symbols=2, price_width=16, qty_width=8)
    for row, error in [("0,2,bid,1,1", "symbol: must be <= 1, got 2"),
                       ("0,0,bid,32.768,1", "price: must be <= 32.767, got 32.768"),
                       ("0,0,bid,32.7675,1", "price: must be <= 32.767, got 32.7675"),
                       ("0,0,bid,1,256", "qty: must be <= 255, got 256")]:
        with pytest.raises(InputError) as info:
            parse_ticks(H + row + "\n", narrow, "t.csv")
        assert str(info.value) == "t.csv:2: " + error


def _random_price(rng) -> str:
    units = str(rng.choice([0, 1, 45, 999, 2147483, 2147484, rng.randrange(2_200_000)]))
    units = "0" * rng.randrange(3) + units
    frac = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 7)))
    sign = rng.choice(["", "", "-", "+"])
    return sign + units + ("." + frac if frac else "")


def _outcome(parse):
    try:
        return parse()
    except InputError as e:
        return str(e)


def test_fast_path_matches_general_parser():
    """Every row gives the same Tick (or the same error) through parse_ticks as through the general parser."""
    rng = random.Random(4)
    rows = [f"{rng.randrange(2**64)},{rng.randrange(4)},{rng.choice(['bid', 'ask', 'trade', 'clear'])},"
            f"{_random_price(rng)},{rng.randrange(2**32)}" for _ in range(20000)]
    fast = sum(1 for row in rows if ticks_mod._FAST_ROW.fullmatch(row))
    assert 8000 < fast < 12000          # both paths are exercised
    errors = 0
    for row in rows:
        general = _outcome(lambda: ticks_mod.parse_row(row, P, "t", 2))
        assert _outcome(lambda: parse_ticks([HEADER, row], P, "t")) == (
            general if isinstance(general, str) else [general])
        if isinstance(general, str):
            errors += 1
            assert general.startswith("t:2: price: must be ")     # 2147483.6475 and above
        else:
            assert general.price == to_milli(parse_decimal(row.split(",")[3]))
    assert 1000 < errors < 6000


def test_fast_path_prices_exhaustive_small():
    """Every price with up to 3 decimals in [-3, 3], written several ways, parses like the Decimal conversion."""
    rows, expected = [HEADER], []
    for m in range(-3000, 3001):
        sign, units, frac = "-" if m < 0 else "", abs(m) // 1000, abs(m) % 1000
        for text in (format_milli(m), f"{sign}{units}.{frac:03d}", f"{sign}00{units}.{frac:03d}0",
                     f"{sign}{units}.{frac:03d}".rstrip("0").rstrip(".")):
            rows.append(f"0,0,bid,{text},0")
            expected.append(m)
            assert to_milli(parse_decimal(text)) == m
    assert [t.price for t in parse_ticks(rows, P)] == expected


def test_write_format_and_round_trip(tmp_path):
    path = tmp_path / "out.csv"
    ticks = [Tick(1, 0, Side.BID, 45035, 10), Tick(2, 3, Side.ASK, -1, 0), Tick(3, 1, Side.TRADE, 0, 5),
             Tick(4, 2, Side.CLEAR, 45500, 0), Tick(2**64 - 1, 3, Side.BID, -2**31, 2**32 - 1)]
    write_ticks(path, ticks)
    assert path.read_bytes() == (b"ts_ns,symbol,side,price,qty\n1,0,bid,45.035,10\n2,3,ask,-0.001,0\n"
                                 b"3,1,trade,0.000,5\n4,2,clear,45.500,0\n"
                                 b"18446744073709551615,3,bid,-2147483.648,4294967295\n")
    assert load_ticks(path, P) == ticks

    rng = random.Random(5)
    ticks = [Tick(rng.randrange(2**64), rng.randrange(4), Side(rng.randrange(4)),
                  rng.randrange(-2**31, 2**31), rng.randrange(2**32)) for _ in range(5000)]
    write_ticks(path, ticks)
    assert load_ticks(path, P) == ticks
    write_ticks(path, [])
    assert load_ticks(path, P) == []


def test_load_errors(tmp_path):
    path = tmp_path / "ticks.csv"
    path.write_bytes(b"ts_ns,symbol,side,price,qty\r\n1,0,bid,1,1\r\n1,0,bid,45.x,1\r\n")
    with pytest.raises(InputError) as info:
        load_ticks(path, P)
    assert str(info.value) == f"{path}:3: price: '45.x' is not a decimal number"
    assert (info.value.path, info.value.line, info.value.field) == (path, 3, "price")

    with pytest.raises(InputError) as info:
        load_ticks(tmp_path / "missing.csv", P)
    assert str(info.value) == f"{tmp_path / 'missing.csv'}: cannot read file: No such file or directory"

    path.write_bytes(b"ts_ns,symbol,side,price,qty\n1,0,bid,1,1\n1,0,bid,\xff,1\n")
    with pytest.raises(InputError) as info:
        load_ticks(path, P)
    assert str(info.value) == f"{path}:3: not valid UTF-8 text (byte 48)"

    path.write_bytes(b"")
    with pytest.raises(InputError, match=r":1: header: empty file"):
        load_ticks(path, P)


def test_many_rows_round_trip(tmp_path):
    """A large file written by write_ticks loads back identically (the fast and the general row parser agree)."""
    rng = random.Random(6)
    ticks = [Tick(i * 250, rng.randrange(4), Side(rng.randrange(4)), rng.randrange(-60000000, 60000000),
                  rng.randrange(0, 10**6)) for i in range(100_000)]
    path = tmp_path / "big.csv"
    write_ticks(path, ticks)
    assert load_ticks(path, P) == ticks


def test_column_reader_matches_row_parser(tmp_path):
    """The column-wise reader gives what the per-row rules give: the same ticks for a file of valid rows (common and
    unusual forms mixed), and the same first error, with the same line, for a file with a bad row."""
    rng = random.Random(7)
    rows = [f"{rng.choice([rng.randrange(2**64), rng.randrange(10**6)])},{rng.randrange(5)},"
            f"{rng.choice(['bid', 'ask', 'trade', 'clear', 'BID', 'sell'])},{_random_price(rng)},"
            f"{rng.choice([rng.randrange(2**32 + 2), rng.randrange(100)])}" for _ in range(20000)]
    outcomes = [_outcome(lambda: ticks_mod.parse_row(row, P, "t", 2)) for row in rows]
    good = [(row, tick) for row, tick in zip(rows, outcomes) if not isinstance(tick, str)]
    assert 5000 < len(good) < 15000
    path = tmp_path / "t.csv"
    path.write_text(H + "".join(row + "\n" for row, _ in good))
    assert load_ticks(path, P) == [tick for _, tick in good]
    bad = [(row, error) for row, error in zip(rows, outcomes) if isinstance(error, str)]
    for row, error in bad[:150]:
        before = rng.randrange(4)
        path.write_text(H + "".join(r + "\n" for r, _ in good[:before]) + row + "\n" + good[-1][0] + "\n")
        with pytest.raises(InputError) as info:
            load_ticks(path, P)
        assert str(info.value) == error.replace("t:2:", f"{path}:{before + 2}:")


@pytest.mark.parametrize("body, line, field", [
    ("1,0,bid,1,1\n\n2,0,bid,1,1\n", 3, "row"),              # a blank line in the middle
    ("1,0,bid,1,1\n2,0,bid,1\n", 3, "row"),                   # four fields
    ("1,0,bid,1,1\n2,0,bid,1,1,5\n", 3, "row"),               # six
    ("1,0,bid,1,1\n\"2\",0,bid,1,1\n", 3, "ts_ns"),           # quotes are not CSV quoting here
    ("1,0,bid,1,1\n2,0,bid, 1,1\n", 3, "price"),              # no spaces
    ("1,0,bid,1,1\r2,0,bid,1,1\n", 2, "row"),                 # a lone CR is not a line end: 9 fields
])
def test_column_reader_strict_like_rows(tmp_path, body, line, field):
    path = tmp_path / "t.csv"
    path.write_bytes((H + body).encode())
    with pytest.raises(InputError) as info:
        load_ticks(path, P)
    assert (info.value.line, info.value.field) == (line, field)
