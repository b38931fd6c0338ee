"""TOML engine config loader (hedgegate.host.config) and the InputError format."""

import pickle

import pytest

from hedgegate.host.config import EngineConfig, LegConfig, load_config, parse_config
from hedgegate.host.errors import InputError
from hedgegate.hw.params import CoreParams
from hedgegate.hw.regmap import LegReg

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1

EXAMPLE = """
[engine]
symbols = 4
levels = 10

[[leg]]
symbol = 0
enabled = true
position = -10000
hedge_position = 0
hedge_ratio = 1.0
alt_hedge_ratio = 0.8
band = [40.0, 60.0]
gamma = 0.0
anchor = 0.0
threshold_bps = 0
min_qty = 1
max_order_qty = 2147483647
position_limit = 2147483647
slippage = 0.0

[[leg]]
symbol = 3
enabled = false
position = 2500
hedge_position = -7
hedge_ratio = 1.125
band = [45, 45.0005]
gamma = 0.001
anchor = 45.035
threshold_bps = 65535
min_qty = 10
max_order_qty = 4294967295
position_limit = 0
slippage = 0.05
"""


# InputError -------------------------------------------------------------------------------------------------------

def test_input_error_format():
    e = InputError("cfg.toml", None, "leg[1].min_qty", "must be >= 1, got 0")
    assert str(e) == "cfg.toml: leg[1].min_qty: must be >= 1, got 0"
    assert (e.path, e.line, e.field, e.message) == ("cfg.toml", None, "leg[1].min_qty", "must be >= 1, got 0")
    assert str(InputError("ticks.csv", 7, "price", "bad")) == "ticks.csv:7: price: bad"
    assert str(InputError("ticks.csv", 7, None, "bad")) == "ticks.csv:7: bad"
    assert str(InputError("f", None, None, "two\nlines")) == "f: two lines"
    assert str(pickle.loads(pickle.dumps(e))) == str(e)


# Valid configs ----------------------------------------------------------------------------------------------------

def test_example():
    cfg = parse_config(EXAMPLE)
    assert cfg.params == CoreParams(symbols=4, levels=10, legs=2, price_width=32, qty_width=32)
    assert cfg.legs[0] == LegConfig(
        symbol=0, enabled=True, position=-10000, hedge_position=0, hedge_ratio=65536,
        alt_hedge_ratio=52429,                # 0.8 * 65536 = 52428.8
        band_lo=40000, band_hi=60000, gamma=0, anchor=0, threshold_bps=0, min_qty=1,
        max_order_qty=INT32_MAX, position_limit=INT32_MAX, slippage=0)
    assert cfg.legs[1] == LegConfig(
        symbol=3, enabled=False, position=2500, hedge_position=-7, hedge_ratio=73728,   # 1.125 * 65536
        alt_hedge_ratio=73728,                # defaults to hedge_ratio
        band_lo=45000, band_hi=45001,         # 45.0005 rounds half away to 45001
        gamma=4295,                           # 0.001 * 2^32 / 1000 = 4294.967296
        anchor=45035, threshold_bps=65535, min_qty=10, max_order_qty=2**32 - 1, position_limit=0, slippage=50)


def test_defaults():
    cfg = parse_config("")
    assert cfg == EngineConfig(CoreParams(symbols=4, levels=10, legs=0), ())
    leg = parse_config("[[leg]]\nsymbol = 1\n").legs[0]
    assert leg == LegConfig(symbol=1, enabled=True, position=0, hedge_position=0, hedge_ratio=65536,
                            alt_hedge_ratio=65536, band_lo=INT32_MIN, band_hi=INT32_MAX, gamma=0, anchor=0,
                            threshold_bps=0, min_qty=1, max_order_qty=INT32_MAX, position_limit=INT32_MAX,
                            slippage=0)


def test_registers():
    leg = parse_config(EXAMPLE).legs[1]
    regs = leg.registers()
    assert set(regs) == set(LegReg) - {LegReg.ADJUST_POSITION}
    assert regs[LegReg.ENABLED] == 0 and type(regs[LegReg.ENABLED]) is int
    assert regs[LegReg.SYMBOL] == 3
    assert regs[LegReg.HEDGE_POSITION] == -7
    assert regs[LegReg.HEDGE_RATIO] == regs[LegReg.ALT_HEDGE_RATIO] == 73728
    assert (regs[LegReg.BAND_LO], regs[LegReg.BAND_HI]) == (45000, 45001)
    assert regs[LegReg.GAMMA] == 4295
    assert regs[LegReg.ANCHOR] == 45035
    assert regs[LegReg.SLIPPAGE] == 50
    assert regs[LegReg.MAX_ORDER_QTY] == 2**32 - 1
    assert parse_config(EXAMPLE).legs[0].registers()[LegReg.ENABLED] == 1


def _leg(body: str, **kw) -> LegConfig:
    return parse_config(f"[[leg]]\nsymbol = 0\n{body}\n", "cfg.toml", **kw).legs[0]


@pytest.mark.parametrize("body, field, value", [
    ("anchor = 2147483.6474", "anchor", 2147483647),       # rounds to price_max: fits
    ("anchor = -2147483.648", "anchor", INT32_MIN),
    ("anchor = -2147483.6484", "anchor", INT32_MIN),
    ("anchor = 45", "anchor", 45000),                      # integer prices are fine
    ("anchor = -0.0005", "anchor", -1),
    ("slippage = 2147483.647", "slippage", INT32_MAX),
    ("slippage = -0.0004", "slippage", 0),                 # range is checked after rounding
    ("hedge_ratio = 32767.9999847412109375", "hedge_ratio", INT32_MAX),
    ("hedge_ratio = -32768", "hedge_ratio", INT32_MIN),
    ("hedge_ratio = -2", "hedge_ratio", -131072),
    ("alt_hedge_ratio = 0", "alt_hedge_ratio", 0),
    ("gamma = 1", "gamma", 4294967),                        # 2^32 / 1000 = 4294967.296
    ("gamma = -0.25", "gamma", -1073742),                   # -1073741.824
    ("gamma = 499.99999976716935634613037109375", "gamma", INT32_MAX),
    ("gamma = -500", "gamma", INT32_MIN),
    ("position = -2147483648", "position", INT32_MIN),
    ("hedge_position = -2147483647", "hedge_position", -INT32_MAX),
    ("threshold_bps = 65535", "threshold_bps", 65535),
    ("min_qty = 4294967295", "min_qty", 2**32 - 1),
    ("position_limit = 0", "position_limit", 0),
    ("max_order_qty = 1", "max_order_qty", 1),
    ("band = [-1, -1]", "band_lo", -1000),
    ("anchor = 1_000.5", "anchor", 1000500),
    ("anchor = 4.5e1", "anchor", 45000),
])
def test_values(body, field, value):
    assert getattr(_leg(body), field) == value


def test_narrow_widths():
    leg = _leg("", price_width=16, qty_width=16)
    assert (leg.band_lo, leg.band_hi) == (-32768, 32767)
    assert _leg("anchor = 32.767\nmin_qty = 65535\nmax_order_qty = 100000", price_width=16,
                qty_width=16).max_order_qty == 100000
    with pytest.raises(InputError, match=r"^cfg\.toml: leg\[0\]\.anchor: must be <= 32\.767, got 32\.768$"):
        _leg("anchor = 32.768", price_width=16)
    with pytest.raises(InputError, match=r"^cfg\.toml: leg\[0\]\.min_qty: must be <= 65535, got 65536$"):
        _leg("min_qty = 65536", qty_width=16)
    with pytest.raises(InputError, match=r"^cfg\.toml: leg\[0\]\.band\[1\]: must be <= 32\.767, got 60\.0$"):
        _leg("band = [1, 60.0]", price_width=16)


def test_sixteen_legs():
    text = "".join(f"[[leg]]\nsymbol = {i % 4}\n" for i in range(16))
    cfg = parse_config(text)
    assert cfg.params.legs == 16 and [leg.symbol for leg in cfg.legs] == [i % 4 for i in range(16)]


def test_engine_limits():
    assert parse_config("[engine]\nsymbols = 256\nlevels = 64\n").params == CoreParams(256, 64, 0)
    assert parse_config("[engine]\nsymbols = 1\nlevels = 1\n").params == CoreParams(1, 1, 0)


# Errors -----------------------------------------------------------------------------------------------------------

L = "[[leg]]\nsymbol = 0\n"   # a valid leg to extend


@pytest.mark.parametrize("text, error", [
    ("[[leg]]\nsymbol = 0\n[[leg]]\nsymbol = 0\nmin_qty = 0\n", "cfg.toml: leg[1].min_qty: must be >= 1, got 0"),
    ("[engine]\nsymbols = 0\n", "cfg.toml: engine.symbols: must be >= 1, got 0"),
    ("[engine]\nsymbols = 257\n", "cfg.toml: engine.symbols: must be <= 256, got 257"),
    ("[engine]\nlevels = 65\n", "cfg.toml: engine.levels: must be <= 64, got 65"),
    ("[engine]\nlevels = 0\n", "cfg.toml: engine.levels: must be >= 1, got 0"),
    ("[engine]\nlevels = 10.0\n", "cfg.toml: engine.levels: expected an integer, got float 10.0"),
    ("[engine]\nlevels = true\n", "cfg.toml: engine.levels: expected an integer, got boolean true"),
    ("[engine]\nlevels = '10'\n", "cfg.toml: engine.levels: expected an integer, got string '10'"),
    ("[engine]\nlegs = 2\n", "cfg.toml: engine.legs: unknown key; expected one of symbols, levels, price_width, qty_width"),
    ("engine = 4\n", "cfg.toml: engine: expected a table ([engine]), got integer 4"),
    ("[engines]\n", "cfg.toml: engines: unknown section or key; expected [engine] and [[leg]] only"),
    ("symbols = 4\n", "cfg.toml: symbols: unknown section or key; expected [engine] and [[leg]] only"),
    ("[leg]\nsymbol = 0\n", "cfg.toml: leg: expected an array of tables ([[leg]]), got table"),
    ("leg = [1, 2]\n", "cfg.toml: leg: expected an array of tables ([[leg]]), got array"),
    ("[[leg]]\nsymbol = 0\n" * 17, "cfg.toml: leg: at most 16 legs are supported, got 17"),
    ("[[leg]]\n", "cfg.toml: leg[0].symbol: missing required key"),
    ("[[leg]]\nsymbol = 4\n", "cfg.toml: leg[0].symbol: must be <= 3, got 4"),
    ("[engine]\nsymbols = 1\n[[leg]]\nsymbol = 1\n", "cfg.toml: leg[0].symbol: must be <= 0, got 1"),
    ("[[leg]]\nsymbol = -1\n", "cfg.toml: leg[0].symbol: must be >= 0, got -1"),
    ("[[leg]]\nsymbol = true\n", "cfg.toml: leg[0].symbol: expected an integer, got boolean true"),
    (L + "colour = 1\n", "cfg.toml: leg[0].colour: unknown key; expected one of symbol, enabled, position, "
     "hedge_position, hedge_ratio, alt_hedge_ratio, band, gamma, anchor, threshold_bps, min_qty, max_order_qty, "
     "position_limit, slippage"),
    (L + "enabled = 1\n", "cfg.toml: leg[0].enabled: expected a boolean (true or false), got integer 1"),
    (L + "enabled = 'yes'\n", "cfg.toml: leg[0].enabled: expected a boolean (true or false), got string 'yes'"),
    (L + "position = 2147483648\n", "cfg.toml: leg[0].position: must be <= 2147483647, got 2147483648"),
    (L + "position = -2147483649\n", "cfg.toml: leg[0].position: must be >= -2147483648, got -2147483649"),
    (L + "position = 1.5\n", "cfg.toml: leg[0].position: expected an integer, got float 1.5"),
    (L + "hedge_position = -2147483648\n",
     "cfg.toml: leg[0].hedge_position: must be >= -2147483647, got -2147483648"),
    (L + "hedge_ratio = 32768\n", "cfg.toml: leg[0].hedge_ratio: must be <= 32767.9999847412109375, got 32768"),
    # (2^31 - 0.5) / 2^16 is a tie that rounds up to 2^31
    (L + "hedge_ratio = 32767.99999237060546875\n",
     "cfg.toml: leg[0].hedge_ratio: must be <= 32767.9999847412109375, got 32767.99999237060546875"),
    (L + "hedge_ratio = -32768.00001\n", "cfg.toml: leg[0].hedge_ratio: must be >= -32768, got -32768.00001"),
    (L + "hedge_ratio = '1.0'\n", "cfg.toml: leg[0].hedge_ratio: expected a number, got string '1.0'"),
    (L + "hedge_ratio = true\n", "cfg.toml: leg[0].hedge_ratio: expected a number, got boolean true"),
    (L + "hedge_ratio = nan\n", "cfg.toml: leg[0].hedge_ratio: expected a finite number, got NaN"),
    (L + "alt_hedge_ratio = -inf\n", "cfg.toml: leg[0].alt_hedge_ratio: expected a finite number, got -Infinity"),
    (L + "alt_hedge_ratio = 1e999999999\n", "cfg.toml: leg[0].alt_hedge_ratio: must be <= 32767.9999847412109375,"
     " got 1E+999999999"),
    (L + "gamma = 500\n", "cfg.toml: leg[0].gamma: must be <= 499.99999976716935634613037109375, got 500"),
    (L + "gamma = -500.0000002\n", "cfg.toml: leg[0].gamma: must be >= -500, got -500.0000002"),
    (L + "band = [40.0]\n", "cfg.toml: leg[0].band: expected an array of two prices [lo, hi], got array of 1"),
    (L + "band = 40.0\n", "cfg.toml: leg[0].band: expected an array of two prices [lo, hi], got float 40.0"),
    (L + "band = [60.0, 40.0]\n", "cfg.toml: leg[0].band: lo must be <= hi, got [60.0, 40.0]"),
    (L + "band = [40.0, '60']\n", "cfg.toml: leg[0].band[1]: expected a number, got string '60'"),
    (L + "band = [-2147483.6485, 0]\n", "cfg.toml: leg[0].band[0]: must be >= -2147483.648, got -2147483.6485"),
    (L + "anchor = 2147483.648\n", "cfg.toml: leg[0].anchor: must be <= 2147483.647, got 2147483.648"),
    (L + "anchor = 2147483.6475\n", "cfg.toml: leg[0].anchor: must be <= 2147483.647, got 2147483.6475"),
    (L + "slippage = -0.001\n", "cfg.toml: leg[0].slippage: must be >= 0, got -0.001"),
    (L + "anchor = [1]\n", "cfg.toml: leg[0].anchor: expected a number, got array"),
    (L + "threshold_bps = 65536\n", "cfg.toml: leg[0].threshold_bps: must be <= 65535, got 65536"),
    (L + "threshold_bps = -1\n", "cfg.toml: leg[0].threshold_bps: must be >= 0, got -1"),
    (L + "min_qty = 4294967296\n", "cfg.toml: leg[0].min_qty: must be <= 4294967295, got 4294967296"),
    (L + "max_order_qty = 0\n", "cfg.toml: leg[0].max_order_qty: must be >= 1, got 0"),
    (L + "max_order_qty = 4294967296\n", "cfg.toml: leg[0].max_order_qty: must be <= 4294967295, got 4294967296"),
    (L + "position_limit = 2147483648\n",
     "cfg.toml: leg[0].position_limit: must be <= 2147483647, got 2147483648"),
    (L + "position_limit = -1\n", "cfg.toml: leg[0].position_limit: must be >= 0, got -1"),
    (L + "anchor = 1979-05-27\n", "cfg.toml: leg[0].anchor: expected a number, got date/time 1979-05-27"),
    # TOML syntax errors carry the line
    ("[engine]\nsymbols = 4\nlevels = \n", "cfg.toml:3: invalid TOML: Invalid value (column 10)"),
    ("[engine]\nsymbols = 4\n[engine]\n", "cfg.toml:3: invalid TOML: Cannot declare ('engine',) twice (column 8)"),
    (L + "anchor = 1.\n", "cfg.toml:3: invalid TOML: Expected newline or end of document after a statement "
     "(column 11)"),
    (L + "symbol = 1\n", "cfg.toml:3: invalid TOML: Cannot overwrite a value (column 11)"),
])
def test_errors(text, error):
    with pytest.raises(InputError) as info:
        parse_config(text, "cfg.toml")
    assert str(info.value) == error
    assert "\n" not in str(info.value)


def test_first_bad_key_in_file_order_is_reported():
    with pytest.raises(InputError, match=r"leg\[0\]\.position:"):
        parse_config("[[leg]]\nsymbol = 0\nslippage = -1\nposition = 1.5\n", "cfg.toml")


def test_load_config(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert load_config(path) == parse_config(EXAMPLE)
    assert load_config(str(path), price_width=24, qty_width=20).params == CoreParams(4, 10, 2, 24, 20)


def test_load_config_errors(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text("[engine]\nlevels = 0\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: engine.levels: must be >= 1, got 0"
    assert info.value.path == path and info.value.field == "engine.levels"

    with pytest.raises(InputError) as info:
        load_config(tmp_path / "missing.toml")
    assert str(info.value) == f"{tmp_path / 'missing.toml'}: cannot read file: No such file or directory"

    path.write_bytes(b"[engine]\nlevels = 4\n# caf\xe9\n")
    with pytest.raises(InputError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:3: not valid UTF-8 text (byte 25)"   # 9 + 11 + len("# caf")
