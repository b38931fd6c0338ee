"""Market data formats (hedgegate.host.marketdata): format detection, Parquet in and out (prices as decimals, floats
or milli-units, against the CSV's decimal rule), ``hedgegate convert`` and the commands that take any format, and the
one-line errors for bad files."""

import json
import random
from decimal import Decimal
from pathlib import Path

import databento_dbn as dbn
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hedgegate.host.cli import main
from hedgegate.host.errors import InputError
from hedgegate.host.marketdata import (TickTable, check_time_order, detect_format, load_ticks, parse_symbol_map,
                                       write_ticks)
from hedgegate.host.numbers import parse_decimal, to_milli
from hedgegate.host.ticks import Side, Tick
from hedgegate.hw.params import CoreParams

P = CoreParams()
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_TICKS, EXAMPLE_CONFIG = ROOT / "examples" / "ttf-eua-ticks.csv", ROOT / "examples" / "ttf-hedge.toml"
ES_MBO = ROOT / ".." / "shared" / "data" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"


def random_ticks(rng, n, params=P):
    return [Tick(rng.randrange(2**64), rng.randrange(params.symbols), Side(rng.randrange(4)),
                 rng.randrange(params.price_min, params.price_max + 1), rng.randrange(params.qty_max + 1))
            for _ in range(n)]


def test_parquet_round_trip_and_same_as_csv(tmp_path):
    ticks = random_ticks(random.Random(1), 3000) + [Tick(2**64 - 1, 3, Side.BID, -2**31, 2**32 - 1)]
    for name in ("t.parquet", "t.csv"):
        assert write_ticks(tmp_path / name, ticks) == name.split(".")[1]
        assert load_ticks(tmp_path / name, P).to_list() == ticks
    schema = pq.read_schema(tmp_path / "t.parquet")
    assert schema.names == ["ts_ns", "symbol", "side", "price_milli", "qty"]
    assert schema.field("price_milli").type == pa.int64()
    write_ticks(tmp_path / "empty.parquet", [])
    assert len(load_ticks(tmp_path / "empty.parquet", P)) == 0


def test_format_detected_from_content_not_name(tmp_path):
    ticks = random_ticks(random.Random(2), 50)
    write_ticks(tmp_path / "really-parquet.csv", ticks, "parquet")
    assert detect_format(tmp_path / "really-parquet.csv") == "parquet"
    assert load_ticks(tmp_path / "really-parquet.csv", P).to_list() == ticks
    with pytest.raises(InputError, match=r"really-parquet.csv:1: not valid UTF-8 text"):
        load_ticks(tmp_path / "really-parquet.csv", P, format="csv")      # --format overrides the guess
    if ES_MBO.exists():
        assert detect_format(ES_MBO) == "dbn"


def _table_with(**columns):
    base = {"ts_ns": pa.array([1, 2, 3], pa.uint64()), "symbol": pa.array([0, 1, 2], pa.int32()),
            "side": pa.array(["bid", "ask", "trade"]), "price_milli": pa.array([45_000, 45_005, 45_002], pa.int64()),
            "qty": pa.array([10, 20, 30], pa.uint32())}
    base.update(columns)
    return pa.table({name: column for name, column in base.items() if column is not None})


def _parquet(tmp_path, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    return path


def test_parquet_price_columns_follow_the_decimal_rule(tmp_path):
    """Decimal prices of any scale and float64 prices convert exactly as the CSV's decimal text does (one rounding,
    half away from zero; a float as the shortest decimal that gives it back)."""
    rng = random.Random(3)
    texts = (["27.505", "-0.0005", "0.0005", "45.0015", "-45.0025", "2147482.6475", "-2147482.6485", "0.1", "1e-3",
              "27.5049999", "123.4565"]
             + [f"{rng.choice(['', '-'])}{rng.randrange(10**6)}.{rng.randrange(10**6):06d}" for _ in range(2000)])
    floats = [float(t) for t in texts]
    expected = [to_milli(Decimal(repr(x))) for x in floats]
    n = len(texts)
    columns = dict(ts_ns=pa.array(range(n), pa.uint64()), symbol=pa.array([0] * n), side=pa.array(["bid"] * n),
                   qty=pa.array([1] * n), price_milli=None)
    table = load_ticks(_parquet(tmp_path, _table_with(price=pa.array(floats, pa.float64()), **columns)), P)
    assert table.price.tolist() == expected
    for scale in (0, 2, 3, 6, 9):           # decimal columns: the values at the column's scale, rounded by the loader
        values = [Decimal(t).quantize(Decimal(1).scaleb(-scale)) for t in texts]
        column = pa.array(values, pa.decimal128(18, scale))
        got = load_ticks(_parquet(tmp_path, _table_with(price=column, **columns)), P).price.tolist()
        assert got == [to_milli(parse_decimal(str(v))) for v in values], scale


@pytest.mark.parametrize("columns, error", [
    (dict(qty=None), "missing column qty; expected ts_ns, symbol, side, price or price_milli, qty "
                     "(has ts_ns, symbol, side, price_milli)"),
    (dict(price_milli=None), "no price column (price or price_milli); expected"),
    (dict(price=pa.array([1.0, 2.0, 3.0])), "both price and price_milli columns"),
    (dict(side=pa.array([0, 1, 2])), "side: expected a string column (bid, ask, trade, clear), got int64"),
    (dict(side=pa.array(["bid", "sell", "ask"])), "row 2: side: 'sell' is not one of bid, ask, trade, clear"),
    (dict(ts_ns=pa.array([1.0, 2.0, 3.0])), "ts_ns: expected an integer column, got double"),
    (dict(symbol=pa.array([0, 4, 1])), "row 2: symbol: must be <= 3, got 4"),
    (dict(qty=pa.array([1, None, 2], pa.int64())), "row 2: qty: null value"),
    (dict(ts_ns=pa.array([1, -5, 3], pa.int64())), "row 2: ts_ns: must be >= 0, got -5"),
    (dict(price_milli=pa.array([1, 2, 2**31], pa.int64())), "row 3: price_milli: must be <= 2147483.647, got "
                                                          "2147483.648"),
    (dict(price_milli=None, price=pa.array(["1", "2", "3"])), "price: expected a decimal or float64 column"),
    (dict(price_milli=None, price=pa.array([1.0, float("nan"), 2.0])), "row 2: price: nan is not a price"),
    (dict(price_milli=None, price=pa.array([1.0, 2.0, 1e300])), "row 3: price: 1e+300 is not a price"),
    (dict(price_milli=None, price=pa.array([Decimal("1"), Decimal("-2147483.6485"), Decimal(0)],
                                           pa.decimal128(20, 4))), "row 2: price: must be >= -2147483.648, got "
                                                                   "-2147483.649"),
])
def test_parquet_errors(tmp_path, columns, error):
    path = _parquet(tmp_path, _table_with(**columns))
    with pytest.raises(InputError) as info:
        load_ticks(path, P)
    assert str(info.value).startswith(f"{path}: {error}"), str(info.value)


def test_not_parquet_and_missing_files(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 but nothing else")
    with pytest.raises(InputError, match=r"x.parquet: not a Parquet file: "):
        load_ticks(path, P)
    with pytest.raises(InputError, match=r"nope.dbn: cannot read file: No such file or directory"):
        load_ticks(tmp_path / "nope.dbn", P)
    with pytest.raises(InputError, match=r"a csv file has symbol indices already"):
        load_ticks(EXAMPLE_TICKS, P, symbols={"7": 0})


def test_time_order_is_checked_when_asked(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ts_ns,symbol,side,price,qty\n5,0,bid,1,1\n5,0,bid,1,2\n4,0,ask,2,1\n9,0,ask,2,2\n")
    table = load_ticks(path, P)                        # replay ignores ts_ns ...
    with pytest.raises(InputError) as info:            # ... commands that use time call this
        check_time_order(table, path)
    assert str(info.value) == (f"{path}: line 4: ts_ns 4 is before the previous tick's 5: timestamps must not go "
                               "backwards")
    check_time_order(table[:2], path)


def test_symbol_maps():
    assert parse_symbol_map("17077=0, TFM FMH0024!=1") == {"17077": 0, "TFM FMH0024!": 1}
    for bad in ("", "7", "7=x", "=1", "7=1,7=2"):
        with pytest.raises(ValueError):
            parse_symbol_map(bad)


def test_table_iterates_and_slices_as_ticks():
    ticks = random_ticks(random.Random(4), 100)
    table = TickTable.from_ticks(ticks)
    assert list(table) == ticks and table[7] == ticks[7] and table[10:20].to_list() == ticks[10:20]
    assert type(table[0].side) is Side and table == ticks


# The commands ------------------------------------------------------------------------------------------------------

def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_convert_and_replay_any_format(tmp_path, capsys):
    """The example session as CSV, as Parquet (converted) and back: replay gives identical recommendations."""
    status, _, err = run(capsys, "convert", EXAMPLE_TICKS, tmp_path / "s.parquet")
    lines = EXAMPLE_TICKS.read_text().count("\n") - 1
    assert status == 0 and err == (f"convert: {EXAMPLE_TICKS} (csv): {lines:,} records read, {lines:,} ticks -> "
                                   f"{tmp_path / 's.parquet'} (parquet)\n")
    assert run(capsys, "convert", tmp_path / "s.parquet", tmp_path / "s.txt", "--to", "csv")[0] == 0
    outputs = []
    for source in (EXAMPLE_TICKS, tmp_path / "s.parquet", tmp_path / "s.txt"):
        out = tmp_path / f"{source.name}.jsonl"
        assert run(capsys, "replay", source, "--config", EXAMPLE_CONFIG, "--backend", "model", "--out", out)[0] == 0
        outputs.append(out.read_text())
    assert outputs[0] and outputs[0] == outputs[1] == outputs[2]


def test_convert_dbn_summary_and_replay(tmp_path, capsys):
    if not ES_MBO.exists():
        pytest.skip("esh4-glbx-mdp3-20231225.mbo.dbn.zst not here: ../shared/data is absent")
    status, _, err = run(capsys, "convert", ES_MBO, tmp_path / "es.csv")
    assert status == 0
    assert err == (f"convert: {ES_MBO} (dbn mbo): 68,792 records read, 51,617 ticks; skipped: fill (F): 6,371 -> "
                   f"{tmp_path / 'es.csv'} (csv)\n")
    direct = load_ticks(ES_MBO, CoreParams(symbols=1 << 16))
    assert load_ticks(tmp_path / "es.csv", P) == direct
    assert direct.ts_ns.tolist() == sorted(direct.ts_ns.tolist())     # ts_ns is ts_recv
    config = tmp_path / "es.toml"
    config.write_text("[engine]\nsymbols = 1\nlevels = 10\n\n[[leg]]\nsymbol = 0\nposition = -100\n"
                      "hedge_ratio = 1\nmin_qty = 1\nmax_order_qty = 5\nposition_limit = 1000\n")
    recs = []
    for source in (ES_MBO, tmp_path / "es.csv"):
        out = tmp_path / f"{source.name}.jsonl"
        status, _, err = run(capsys, "replay", source, "--config", config, "--backend", "model", "--out", out)
        assert status == 0, err
        recs.append(out.read_text())
    assert recs[0] == recs[1] and len(recs[0].splitlines()) == 20     # 100 bought in 20 slices of 5
    assert json.loads(recs[0].splitlines()[0])["side"] == "BUY"


def test_bad_input_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("ts_ns,symbol,side,price,qty\n1,0,bid,45,1\n2,0,bid,45.x,1\n")
    out = tmp_path / "out.parquet"
    status, _, err = run(capsys, "convert", bad, out)
    assert status == 2 and err == f"hedgegate: error: {bad}:3: price: '45.x' is not a decimal number\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]           # no OUT, no temporary file
    status, _, err = run(capsys, "convert", EXAMPLE_TICKS, tmp_path / "no" / "such" / "dir.csv")
    assert status == 1 and err.startswith("hedgegate: error: cannot write ") and "\n" not in err.rstrip("\n")
    status, _, err = run(capsys, "convert", EXAMPLE_TICKS, out, "--symbols", "7")
    assert status == 2 and err == ("hedgegate: error: --symbols: '7' is not ID=INDEX (an instrument id or raw "
                                   "symbol, then a symbol index)\n")
    status, _, err = run(capsys, "convert", EXAMPLE_TICKS, out, "--depth", "0")
    assert status == 2 and "--depth must be >= 1" in err


def test_stream_takes_dbn_and_bad_dbn_is_one_line(tmp_path, capsys):
    """stream reads DBN like replay does (same recommendations); a truncated DBN file: exit 2, one line."""
    ttf = ROOT / "examples" / "data" / "ttf-ndex-impact.mbp-10.dbn.zst"
    replayed, streamed = tmp_path / "replay.jsonl", tmp_path / "stream.jsonl"
    assert run(capsys, "replay", ttf, "--config", EXAMPLE_CONFIG, "--backend", "model", "--out", replayed)[0] == 0
    status, out, err = run(capsys, "stream", ttf, "--config", EXAMPLE_CONFIG, "--port", "model", "--json", "--out",
                           streamed)
    assert status == 0, err
    assert json.loads(out)["ticks"] == 15 and replayed.read_text() == streamed.read_text()
    assert len(replayed.read_text().splitlines()) == 4                    # 9,000 MWh bought in 2,500 slices
    cut, whole = tmp_path / "cut.dbn", tmp_path / "whole.dbn"
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD)
    decoder.write(ttf.read_bytes())
    metadata, *records = decoder.decode()
    whole.write_bytes(metadata.encode() + b"".join(bytes(r) for r in records))
    assert load_ticks(whole, P) == load_ticks(ttf, P)                      # plain DBN reads as the zstd one
    cut.write_bytes(whole.read_bytes()[:-1])
    status, _, err = run(capsys, "replay", cut, "--config", EXAMPLE_CONFIG, "--backend", "model", "--out",
                         tmp_path / "r.jsonl")
    assert status == 2 and err.count("\n") == 1
    left = len(bytes(records[-1])) - 1
    assert err == f"hedgegate: error: {cut}: record 4: truncated file: only {left} bytes of this record\n"
