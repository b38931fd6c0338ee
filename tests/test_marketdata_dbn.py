"""Databento DBN in (hedgegate.host.marketdata.dbn): the engine's book, fed the converted ticks, equals an independent
full-depth book's top N after every record, on the real files of ../shared/data (skipped when absent) and on random
MBO and MBP-10 streams written here with databento-dbn's own encoder; and every kind of bad input gives one line."""

import datetime
import random
from pathlib import Path
from types import SimpleNamespace

import databento_dbn as dbn
import pytest

from hedgegate.host.errors import InputError
from hedgegate.host.marketdata import load_ticks, read_definitions
from hedgegate.host.model import HedgeModel
from hedgegate.hw.params import CoreParams

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
ES_MBO = DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
# Databento's TTF fixtures (Apache-2.0) are bundled in examples/data, so their tests run in every clone.
TTF = {schema: Path(__file__).resolve().parents[1] / "examples" / "data" / f"ttf-ndex-impact.{schema}.dbn.zst"
       for schema in ("mbo", "mbp-10", "definition")}
NANO = 1_000_000          # DBN price units per milli-unit


def shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path.name} not here: the reference data folder ../shared/data is absent (a user's clone has "
                    "none)")
    return path


# An independent book: orders in a dict, levels recomputed from them (no incremental level logic, no refills) -------

class ReferenceBook:
    """Databento's rules, written plainly: orders by id, and per side a dict price -> the sum of its orders' sizes;
    the top N is sorted out of the whole dict each time (no ranks, no refills: nothing shared with LevelBook)."""

    def __init__(self):
        self.orders = {}         # order id -> [side 'B'/'A', price in milli-units, size]
        self.levels = {"B": {}, "A": {}}

    def _add(self, side, price, size):
        level = self.levels[side]
        level[price] = level.get(price, 0) + size
        if level[price] == 0:
            del level[price]

    def apply(self, record):
        action, side = record.action.value, record.side.value
        if action == "R":
            self.orders.clear()
            self.levels = {"B": {}, "A": {}}
        elif action in "ACM" and side in "BA":
            order = self.orders.get(record.order_id)
            if action == "C":
                if order is not None:
                    size = min(record.size, order[2])
                    order[2] -= size
                    self._add(order[0], order[1], -size)
                    if order[2] == 0:
                        del self.orders[record.order_id]
            else:                                   # A, or M (an M for an unknown order adds it)
                if order is not None:
                    del self.orders[record.order_id]
                    self._add(order[0], order[1], -order[2])
                if record.size:
                    self.orders[record.order_id] = [side, record.price // NANO, record.size]
                    self._add(side, record.price // NANO, record.size)

    def top(self, n):
        return (sorted(self.levels["B"].items(), reverse=True)[:n], sorted(self.levels["A"].items())[:n])


def records_of(path):
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD if path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
                             else dbn.Compression.NONE)
    decoder.write(path.read_bytes())
    return decoder.decode()[1:]


def replay_by_record(table, params):
    """The model fed the ticks record by record: yields (record number, the model) after each record's ticks."""
    model = HedgeModel(params)
    rows, ticks = table.source_row.tolist(), table.to_list()
    k = 0
    record = 0
    while True:
        record += 1
        while k < len(rows) and rows[k] == record:
            model.tick(ticks[k].symbol, ticks[k].side, ticks[k].price, ticks[k].qty)
            k += 1
        yield record, model


def check_mbo_against_reference(path, params, instruments={None: 0}):
    """After every record, the model's book of each instrument's symbol equals the reference's top N."""
    table = load_ticks(path, params, symbols=None if None in instruments else {str(i): s for i, s in
                                                                               instruments.items()})
    books = {}
    replay = replay_by_record(table, params)
    records = records_of(path)
    for record in records:
        reference = books.setdefault(record.instrument_id, ReferenceBook())
        reference.apply(record)
        number, model = next(replay)
        symbol = instruments.get(record.instrument_id, instruments.get(None))
        assert model.book(symbol) == reference.top(params.levels), f"record {number}: {record}"
    return table


def test_es_session_mbo_top10_exact_at_every_event():
    """The real CME E-mini session (68,792 MBO records: adds, cancels, modifies, trades, fills; up to ~900 levels
    per side): the engine's 10-level book equals the true top 10 after every single record."""
    P = CoreParams(symbols=1, levels=10, legs=0)
    table = check_mbo_against_reference(shared(ES_MBO), P)
    report = table.report
    assert report.records == 68_792 and report.format == "dbn mbo"
    assert dict(report.skipped) == {"fill (F)": 6_371}
    assert table.ts_ns.tolist() == sorted(table.ts_ns.tolist())              # ts_recv, monotonic in a DBN file
    trades = [r for r in records_of(ES_MBO) if r.action.value == "T"]
    assert int((table.side == 2).sum()) == len(trades)                       # one trade tick per T record


def test_es_session_mbo_depth_3():
    """A shallow book needs many refills (the 3rd level appears whenever one of the top 3 goes): still exact."""
    check_mbo_against_reference(shared(ES_MBO), CoreParams(symbols=1, levels=3, legs=0))


def test_ttf_mbp10_equals_each_snapshot():
    P = CoreParams(symbols=1, levels=10, legs=0)
    path = shared(TTF["mbp-10"])
    table = load_ticks(path, P)
    replay = replay_by_record(table, P)
    for record in records_of(path):
        _, model = next(replay)
        bids = [(level.bid_px // NANO, level.bid_sz) for level in record.levels if level.bid_sz]
        asks = [(level.ask_px // NANO, level.ask_sz) for level in record.levels if level.ask_sz]
        assert model.book(0) == (bids, asks)
    # only what changed: the first record is the whole book (4 bids, 5 asks), each later one a move of one level
    assert [int((table.source_row == r).sum()) for r in range(1, 5)] == [9, 2, 2, 2]


def test_ttf_definitions_name_the_instrument():
    path = shared(TTF["mbo"])
    definitions = read_definitions(shared(TTF["definition"]))
    assert definitions == {"TFM FMH0024!": {5733529}}
    P = CoreParams(symbols=4, levels=10, legs=0)
    by_name = load_ticks(path, P, symbols={"TFM FMH0024!": 3}, definitions=[TTF["definition"]])
    by_id = load_ticks(path, P, symbols={"5733529": 3})
    default = load_ticks(path, P)
    assert by_name == by_id and set(by_id.symbol.tolist()) == {3}
    assert default.symbol.tolist() == [0] * len(default) and default.price.tolist() == by_id.price.tolist()


# Random streams, written with databento-dbn's encoder --------------------------------------------------------------

def write_dbn(path, records, schema=dbn.Schema.MBO, mappings=()):
    """A DBN file (uncompressed) of ``records``; ``mappings``: (raw symbol, instrument id) pairs of its symbology."""
    day = datetime.date(2024, 1, 18)
    metadata = dbn.Metadata(dataset="TEST.HEDGEGATE", start=0, stype_in=dbn.SType.RAW_SYMBOL,
                            stype_out=dbn.SType.INSTRUMENT_ID, schema=schema, symbols=[raw for raw, _ in mappings],
                            mappings=[SimpleNamespace(raw_symbol=raw, intervals=[SimpleNamespace(
                                start_date=day, end_date=day + datetime.timedelta(days=1), symbol=str(instrument))])
                                for raw, instrument in mappings])
    path.write_bytes(metadata.encode() + b"".join(bytes(record) for record in records))
    return path


_ACTIONS = {"A": dbn.Action.ADD, "C": dbn.Action.CANCEL, "M": dbn.Action.MODIFY, "R": dbn.Action.CLEAR,
            "T": dbn.Action.TRADE, "F": dbn.Action.FILL, "N": dbn.Action.NONE}
_SIDES = {"B": dbn.Side.BID, "A": dbn.Side.ASK, "N": dbn.Side.NONE}


def mbo(ts, action, side, price_milli, size, order_id, instrument=7, flags=0, publisher=1):
    price = dbn.UNDEF_PRICE if price_milli is None else price_milli * NANO
    return dbn.MBOMsg(publisher, instrument, ts, order_id, price, size, _ACTIONS[action], _SIDES[side], ts,
                      flags=flags)


def random_mbo(rng, count, instruments=(7,)):
    """A random but well-formed MBO stream: prices on a narrow grid (so books are deeper than N and refills are
    needed), partial and full cancels, moves and resizes, modifies and cancels of unknown orders, clears, trades."""
    records, live, next_id, ts = [], {i: {} for i in instruments}, 1, 1000
    for _ in range(count):
        instrument = rng.choice(instruments)
        orders = live[instrument]
        ts += rng.choice([0, 0, 1, 7])                 # many events per timestamp
        roll = rng.random()
        if roll < 0.45 or not orders:
            side = rng.choice("BA")
            price = (rng.randrange(27_000, 27_060, 5) if side == "B" else rng.randrange(27_040, 27_100, 5))
            orders[next_id] = (side, price)
            records.append(mbo(ts, "A", side, price, rng.randrange(1, 50), next_id, instrument))
            next_id += 1
        elif roll < 0.7:
            order_id = rng.choice(list(orders))
            side, price = orders[order_id]
            size = rng.choice([rng.randrange(1, 10), 10_000])           # partial, or more than it has: all
            records.append(mbo(ts, "C", side, price, size, order_id, instrument))
        elif roll < 0.88:
            order_id = rng.choice(list(orders)) if rng.random() < 0.9 else next_id + 1000 + rng.randrange(100)
            side = orders[order_id][0] if order_id in orders else rng.choice("BA")
            price = rng.randrange(27_020, 27_080, 5)
            orders[order_id] = (side, price)
            records.append(mbo(ts, "M", side, price, rng.randrange(0, 40), order_id, instrument))
        elif roll < 0.9:
            records.append(mbo(ts, "C", "B", 27_000, 1, 10**9 + rng.randrange(10), instrument))  # unknown order
        elif roll < 0.905:
            records.append(mbo(ts, "R", "N", None, 0, 0, instrument))
            orders.clear()
        else:
            action = rng.choice("TFN")
            records.append(mbo(ts, action, rng.choice("BAN"), rng.randrange(27_000, 27_100, 5), rng.randrange(1, 9),
                               0, instrument))
    return records


@pytest.mark.parametrize("levels", [1, 3, 10])
def test_random_mbo_exact_after_every_record(tmp_path, levels):
    rng = random.Random(levels)
    path = write_dbn(tmp_path / "random.mbo.dbn", random_mbo(rng, 6000, instruments=(7, 9)))
    P = CoreParams(symbols=2, levels=levels, legs=0)
    table = check_mbo_against_reference(path, P, instruments={7: 0, 9: 1})
    assert table.report.skipped["cancel of an order not on the book"] > 50
    assert (table.side == 3).sum() > 10                            # clears happened, each one a clear tick


def test_refill_brings_the_next_level_in(tmp_path):
    """Hand-worked: 3 levels kept, 4 bid levels in the book; the best goes: its delete, then the 4th comes in."""
    records = [mbo(1, "A", "B", 100_000 - 1000 * i, 10 + i, i + 1) for i in range(4)]
    records.append(mbo(2, "C", "B", 100_000, 10, 1))
    table = load_ticks(write_dbn(tmp_path / "r.dbn", records), CoreParams(symbols=1, levels=3, legs=0))
    assert [(t.side.name, t.price, t.qty) for t in table] == [
        ("BID", 100_000, 10), ("BID", 99_000, 11), ("BID", 98_000, 12),      # the 4th add is beyond the top 3
        ("BID", 100_000, 0), ("BID", 97_000, 13)]
    assert table.source_row.tolist() == [1, 2, 3, 5, 5] and table.ts_ns.tolist() == [1, 1, 1, 2, 2]


def test_top_of_book_publisher_replaces_the_side(tmp_path):
    records = [mbo(1, "A", "B", 100_000, 5, 0, flags=dbn.F_TOB), mbo(2, "A", "B", 99_000, 7, 0, flags=dbn.F_TOB),
               mbo(3, "A", "B", None, 0, 0, flags=dbn.F_TOB)]
    table = load_ticks(write_dbn(tmp_path / "t.dbn", records), CoreParams(symbols=1, levels=10, legs=0))
    assert [(t.price, t.qty) for t in table] == [(100_000, 5), (100_000, 0), (99_000, 7), (99_000, 0)]


def random_snapshots(rng, count):
    records = []
    for ts in range(count):
        def side(base, step):
            prices = sorted(rng.sample(range(0, 40), rng.randrange(0, 11)))      # best first
            return [(base + step * p * 5, rng.randrange(1, 30)) for p in prices]
        bids, asks = side(27_000, -1), side(27_010, 1)
        if records and rng.random() < 0.5:                        # often only one level changes
            last = records[-1]
            bids = [(lv.bid_px // NANO, lv.bid_sz) for lv in last.levels if lv.bid_sz]
            asks = [(lv.ask_px // NANO, lv.ask_sz) for lv in last.levels if lv.ask_sz]
            if bids:
                i = rng.randrange(len(bids))
                bids[i] = (bids[i][0], rng.randrange(1, 30))
        levels = [dbn.BidAskPair(bid_px=bids[i][0] * NANO if i < len(bids) else dbn.UNDEF_PRICE,
                                 ask_px=asks[i][0] * NANO if i < len(asks) else dbn.UNDEF_PRICE,
                                 bid_sz=bids[i][1] if i < len(bids) else 0, ask_sz=asks[i][1] if i < len(asks) else 0)
                  for i in range(10)]
        action = rng.choice([dbn.Action.ADD, dbn.Action.CANCEL, dbn.Action.TRADE])
        records.append(dbn.MBP10Msg(1, 7, ts, 27_005 * NANO, 3, action, dbn.Side.BID, 0, ts, levels=levels))
    return records


@pytest.mark.parametrize("depth", [10, 4])
def test_random_mbp10_equals_each_snapshot(tmp_path, depth):
    rng = random.Random(depth)
    records = random_snapshots(rng, 800)
    path = write_dbn(tmp_path / "s.dbn", records, schema=dbn.Schema.MBP_10)
    P = CoreParams(symbols=1, levels=depth, legs=0)
    table = load_ticks(path, P)
    replay = replay_by_record(table, P)
    for record in records:
        number, model = next(replay)
        bids = [(lv.bid_px // NANO, lv.bid_sz) for lv in record.levels if lv.bid_sz][:depth]
        asks = [(lv.ask_px // NANO, lv.ask_sz) for lv in record.levels if lv.ask_sz][:depth]
        assert model.book(0) == (bids, asks), f"record {number}"
    assert int((table.side == 2).sum()) == sum(r.action.value == "T" for r in records)


# Bad input: one line naming the file and the record -------------------------------------------------------------

def load_error(path, params=CoreParams(symbols=1, legs=0), **options) -> str:
    with pytest.raises(InputError) as info:
        load_ticks(path, params, **options)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path))
    return text[len(str(path)):]


def test_prices_off_the_grid_or_out_of_range(tmp_path):
    off = dbn.MBOMsg(1, 7, 5, 1, 27_505_500_000, 1, dbn.Action.ADD, dbn.Side.BID, 5)
    path = write_dbn(tmp_path / "p.dbn", [mbo(1, "A", "B", 27_000, 1, 2), off])
    assert load_error(path) == (": record 2: price 27.505500000 is not on the milli-unit grid (0.001); the engine's "
                                "prices are milli-units")
    path = write_dbn(tmp_path / "w.dbn", [mbo(1, "A", "A", 40_000, 1, 2)])
    assert load_error(path, CoreParams(symbols=1, legs=0, price_width=16)) == (
        ": record 1: price 40 does not fit the core's 16-bit prices (-32.768 .. 32.767)")
    path = write_dbn(tmp_path / "q.dbn", [mbo(1, "A", "B", 1_000, 200, 1), mbo(1, "A", "B", 1_000, 100, 2)])
    assert load_error(path, CoreParams(symbols=1, legs=0, qty_width=8)) == (
        ": record 2: the level at 1 would hold 300, more than the core's qty limit 255")


def test_truncated_corrupt_and_foreign_files(tmp_path):
    path = write_dbn(tmp_path / "full.dbn", [mbo(i, "A", "B", 1_000 + i, 1, i) for i in range(1, 6)])
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(path.read_bytes()[:-20])
    assert load_error(cut) == ": record 5: truncated file: only 36 bytes of this record"
    garbage = tmp_path / "garbage.dbn"
    garbage.write_bytes(b"DBN\x03" + b"\x00" * 3 + b"nonsense" * 10)
    assert load_error(garbage, format="dbn") == ": not a DBN file, or one cut short: no complete metadata header"
    text = tmp_path / "text.dbn"
    text.write_bytes(b"ts_ns,symbol,side,price,qty\n")
    assert load_error(text, format="dbn") == ": corrupt DBN file: decoding error: invalid DBN header"
    empty = tmp_path / "empty.dbn"
    empty.write_bytes(b"")
    assert load_error(empty, format="dbn") == ": not a DBN file, or one cut short: no complete metadata header"
    zstd = shared(TTF["mbp-10"]).read_bytes()
    broken = tmp_path / "broken.dbn.zst"
    broken.write_bytes(zstd[:100] + bytes(b ^ 0x55 for b in zstd[100:140]) + zstd[140:])
    assert load_error(broken).startswith(": corrupt DBN file: ")


def test_schemas_and_symbols(tmp_path):
    assert load_error(shared(TTF["definition"])) == (
        ": schema definition: not market data the engine reads (MBO or MBP-10 records)")
    mixed = tmp_path / "mixed.dbn"
    snapshot = random_snapshots(random.Random(1), 1)[0]
    write_dbn(mixed, [mbo(1, "A", "B", 1_000, 1, 1), snapshot])
    assert load_error(mixed) == ": record 2: a MBP10Msg record among MBOMsg records: only one schema per file is read"

    two = write_dbn(tmp_path / "two.dbn", [mbo(1, "A", "B", 1_000, 1, 1, instrument=7),
                                           mbo(2, "A", "B", 1_000, 1, 2, instrument=9)],
                    mappings=[("GAS", 7), ("CO2", 9)])
    P = CoreParams(symbols=2, legs=0)
    assert load_error(two, P) == (": 2 instruments (7 (GAS), 9 (CO2)); map them to the engine's symbols with "
                                  "--symbols ID=INDEX,...")
    partial = load_ticks(two, P, symbols={"GAS": 1})                       # raw symbols from the file's symbology
    assert partial.symbol.tolist() == [1] and dict(partial.report.skipped) == {"unmapped instrument 9 (CO2)": 1}
    assert load_error(two, P, symbols={"GAS": 1}, strict_symbols=True) == (
        ": record 2: instrument 9 (CO2) has no symbol mapping (--symbols)")
    assert load_error(two, P, symbols={"OIL": 0}) == (
        ": symbols: 'OIL' is neither an instrument id nor a raw symbol of this file or its definitions "
        "(known: CO2, GAS)")
    assert load_error(two, P, symbols={"7": 2}) == ": symbols: 7=2: the index must be below the engine's 2 symbols"
    both = load_ticks(two, P, symbols={"7": 1, "CO2": 0})
    assert both.symbol.tolist() == [1, 0]
    mixed_publishers = write_dbn(tmp_path / "pub.dbn", [mbo(1, "A", "B", 1_000, 1, 1, publisher=1),
                                                        mbo(2, "A", "B", 1_000, 1, 2, publisher=2)])
    assert load_error(mixed_publishers).startswith(": record 2: instrument 7 comes from two publishers")
