"""Parameter sweeps: one backtest per point of a grid, run on ``dask.distributed``, as a table and a heat map.

    >>> grid = parse_grid(["threshold_bps=50,100,200", "latency_ns=160,400,2000"])
    >>> rows = run_sweep(ticks, Path("cfg.toml").read_text(), "cfg.toml", grid)       # a LocalCluster, one per core
    >>> rows = run_sweep(ticks, text, "cfg.toml", grid, scheduler="tcp://10.0.0.5:8786")   # an existing cluster
    >>> write_table(rows, "sweep/sweep.parquet"); heatmap(rows, grid, "total_pnl", "sweep/sweep.png")

Why dask
--------
A point is one backtest: seconds of compiled work on one core, independent of every other point. That is
embarrassingly parallel, and the only questions are where the processes run and how the ticks get there.
``dask.distributed`` answers both the same way on a laptop (a :class:`~distributed.LocalCluster` of worker
processes, one thread each, since the kernel holds the GIL in numba code and one process per core is what scales)
and on a cluster (``--scheduler tcp://HOST:PORT``), so the sweep has a single code path and no home-made pools or
sockets. The ticks, the one large input, are scattered to every worker once (``broadcast=True``) and every task
refers to that copy by its future; the engine config travels as its TOML text (a few hundred bytes per task) and
is validated on the worker, where a bad value fails that point only.

How points fail
---------------
A point fails alone. :func:`run_point` catches any exception of its backtest (a value out of its register's
range, a leg index the config does not have, a bad ``unfilled``) and returns it as the row's ``error``, a single
line, with every metric None. A config error names the point: it is validated as
``"cfg.toml [threshold_bps=70000, latency_ns=160]"``, so the message reads
``cfg.toml [threshold_bps=70000, latency_ns=160]: leg[0].threshold_bps: must be <= 65535, got 70000``.
A task that fails outside :func:`run_point` becomes an error row in :func:`run_sweep` the same way: its arguments
could not be unpickled there, or its worker process died (a crash, the OOM killer). On the LocalCluster run_sweep
starts, a point whose process dies fails at once with ``KilledWorker``: dask's default of retrying it on three more
workers would let one such point kill every worker. On a given scheduler its own setting applies, and when the last
worker holding the scattered ticks is lost (scattered data cannot be recomputed) dask cancels every point still to
run; run_sweep scatters the ticks again and reruns those, up to three rounds in all. The sweep always returns one
row per point, in grid order.

Grid keys
---------
A leg key of the config file (``threshold_bps``, ``hedge_ratio``, ...) sets that key in every ``[[leg]]``;
``legN.KEY`` sets it in leg N only (counted from 0, as the config's errors count them: ``leg[0]``) and wins over the
every-leg key, whatever the grid's order. The backtest keys replace fields of the base :class:`BacktestConfig`:
``latency_ns`` (a constant latency), ``transaction_cost_bps``, ``fee_per_lot``, ``slippage_bps``, ``unfilled``,
``initial_position``.
"""

import dataclasses
import itertools
import math
import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path

from ..config import MAX_LEGS, config_from_document
from ..errors import InputError
from .config import BacktestConfig, Latency
from .engine import Backtest

__all__ = ["LEG_KEYS", "BACKTEST_KEYS", "METRIC_COLUMNS", "parse_grid", "points", "point_config", "run_point",
           "run_sweep", "write_table", "heatmap", "heatmap_values"]

# The config file's leg keys a grid may set. Not ``symbol`` (a sweep compares one engine's settings on one market,
# not different markets) and not ``band`` (a two-number array, which KEY=V1,V2 cannot express).
LEG_KEYS = ("position", "hedge_position", "hedge_ratio", "alt_hedge_ratio", "gamma", "anchor", "threshold_bps",
            "min_qty", "max_order_qty", "position_limit", "slippage", "enabled")
BACKTEST_KEYS = ("latency_ns", "transaction_cost_bps", "fee_per_lot", "slippage_bps", "unfilled", "initial_position")

# The scalar metrics of Backtest.results() in its order, then the flattened latency percentiles. An error row has
# them all as None, so failed and successful rows have the same columns (a test checks this list against the engine).
METRIC_COLUMNS = ("ticks", "ticks_per_second", "total_pnl", "unhedged_pnl", "sharpe_ratio", "max_drawdown",
                  "max_drawdown_pct", "effectiveness", "hedges", "volume", "cancelled_qty", "transaction_cost",
                  "fees", "slippage_cost", "fills", "limit_blocked", "price_blocked", "bars", "capital",
                  "latency_p50_ns", "latency_p99_ns")

_LEG_KEY = re.compile(r"leg([0-9]+)\.([a-z_]+)")
_INT = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")   # finite only: no nan, inf
_BOOLEAN = {"true": True, "false": False}                                          # TOML's spelling, for enabled
_ROUNDS = 3     # submissions of a point cancelled because the ticks were lost with their workers (run_sweep)


# The grid ------------------------------------------------------------------------------------------------------------

def parse_grid(specs: list[str]) -> dict[str, list]:
    """``["KEY=V1,V2,...", ...]`` -> ``{KEY: [V1, V2, ...]}`` in the order given.

    A value is an int if it is integer text (``50``, ``-10000``), a :class:`~decimal.Decimal` if it is decimal text
    (``0.8``, ``1e3``; exact, as the config file reads its floats), a bool for ``true`` / ``false`` (TOML's
    spelling, for ``enabled``), else the string (``unfilled=cancel,rest``). Whether a value suits its key is checked
    per point, when it is run: one bad value fails its points, not the sweep.

    Raises ValueError, one line naming the spec, for a spec without ``=``, an empty key or value, a value given
    twice, a key given twice or a key that is not a grid key (see the module docstring).
    """
    grid: dict[str, list] = {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"grid {spec!r}: expected KEY=V1,V2,...")
        _check_key(spec, key)
        if key in grid:
            raise ValueError(f"grid {spec!r}: {key} is already given by an earlier grid")
        values = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                raise ValueError(f"grid {spec!r}: empty value (expected KEY=V1,V2,...)")
            value = _value(item)
            # The same point twice would only repeat a backtest and a heat map cell. Types must match too: 1 and
            # 1.0 are different points for an integer key (the second fails: "expected an integer").
            if any(type(value) is type(v) and value == v for v in values):
                raise ValueError(f"grid {spec!r}: value {item} is given twice")
            values.append(value)
        grid[key] = values
    return grid


def _check_key(spec: str, key: str) -> None:
    problem = _key_problem(key)
    if problem:
        raise ValueError(f"grid {spec!r}: {problem}")


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a grid key, or None."""
    if key in LEG_KEYS or key in BACKTEST_KEYS:
        return None
    match = _LEG_KEY.fullmatch(key)
    if match and match[2] in LEG_KEYS:
        return f"leg index {int(match[1])} is not below {MAX_LEGS}" if int(match[1]) >= MAX_LEGS else None
    return (f"unknown key {key!r}; expected a leg key ({', '.join(LEG_KEYS)}) for every leg, legN.KEY for leg N, "
            f"or one of {', '.join(BACKTEST_KEYS)}")


def _value(text: str):
    if _INT.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return Decimal(text)
    return _BOOLEAN.get(text, text)


def points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, the last key varying fastest (``itertools.product``)."""
    keys = list(grid)
    return [dict(zip(keys, combination)) for combination in itertools.product(*grid.values())]


def _point_text(point: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in point.items())


# One point -----------------------------------------------------------------------------------------------------------

def point_config(config_text: str, config_path, point: dict):
    """The engine config and the :class:`BacktestConfig` overrides of one point.

    The leg keys are written into the TOML document's ``[[leg]]`` tables before it is validated by
    :func:`~hedgegate.host.config.config_from_document` under the name ``"{config_path} [{point}]"``, so an error
    names the point as well as the field. Returns ``(EngineConfig, {field: value})``; raises
    :class:`~hedgegate.host.errors.InputError` for a bad value of any key.
    """
    label = f"{config_path} [{_point_text(point)}]"
    for key in point:                        # a grid built without parse_grid: an unknown key must not be ignored
        problem = _key_problem(key)
        if problem:
            raise InputError(label, None, None, problem)
    try:
        doc = tomllib.loads(config_text, parse_float=Decimal)
    except ValueError as exc:
        raise InputError(label, None, None, f"invalid TOML: {' '.join(str(exc).splitlines())}") from None
    legs = doc.get("leg")
    every = {key: value for key, value in point.items() if key in LEG_KEYS}
    single = [(_LEG_KEY.fullmatch(key), value) for key, value in point.items() if _LEG_KEY.fullmatch(key)]
    if every or single:
        if not legs:                         # a leg key with no leg to set would be silently ignored
            raise InputError(label, None, "leg", "the config has no [[leg]] for the grid's leg keys")
        # A [leg] that is not an array of tables is left as it is: the validation below names the problem.
        if isinstance(legs, list) and all(isinstance(leg, dict) for leg in legs):
            for leg in legs:                 # every-leg keys first, so legN.KEY wins whatever the grid's order
                leg.update(every)
            for match, value in single:
                index = int(match[1])
                if index >= len(legs):
                    raise InputError(label, None, match[0],
                                     f"the config has {len(legs)} legs (leg0 .. leg{len(legs) - 1})")
                legs[index][match[2]] = value
    engine = config_from_document(doc, label)
    overrides = {}
    for key, value in point.items():
        if key not in BACKTEST_KEYS:
            continue
        if key in ("latency_ns", "initial_position"):
            if type(value) is not int:
                raise InputError(label, None, key, f"expected an integer, got {value!r}")
            if key == "latency_ns":
                if value < 0:
                    raise InputError(label, None, key, f"must be >= 0, got {value}")
                overrides["latency"] = Latency.constant(value)
            else:
                overrides[key] = value
        elif key == "unfilled":
            overrides[key] = value if isinstance(value, str) else str(value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                raise InputError(label, None, key, f"expected a number, got {value!r}")
            overrides[key] = float(value)
    try:
        BacktestConfig(**overrides)          # its own checks (unfilled, costs >= 0), here to name the point
    except ValueError as exc:
        raise InputError(label, None, None, str(exc)) from None
    return engine, overrides


def run_point(ticks, config_text: str, config_path, base: BacktestConfig, point: dict) -> dict:
    """Backtest one point; never raises (the sweep's other points must go on).

    Returns the row: the point's parameters (Decimals as floats), every metric of :data:`METRIC_COLUMNS` (the
    latency percentiles flattened to ``latency_p50_ns``, ``latency_p99_ns``) and ``error``: None, or the exception as
    one line with every metric None.
    """
    try:
        engine, overrides = point_config(config_text, config_path, point)
        metrics = Backtest(engine, dataclasses.replace(base, **overrides)).run(ticks).metrics
    except Exception as exc:   # noqa: BLE001 -- any failure of this point is this point's result
        return _error_row(point, exc)
    flat = {}
    for key, value in metrics.items():
        if key == "latency_ns":
            flat["latency_p50_ns"], flat["latency_p99_ns"] = value["p50"], value["p99"]
        elif value is None or isinstance(value, (bool, int, float, str)):
            flat[key] = value       # lists (final_hedge_positions) and dicts are not table cells
    # The columns in METRIC_COLUMNS' order, as error rows have them; a metric the engine gained since comes after.
    row = _parameters(point)
    row.update({key: flat.pop(key, None) for key in METRIC_COLUMNS})
    row.update(flat)
    row["error"] = None
    return row


def _parameters(point: dict) -> dict:
    # Decimal is exact in the config, but a float is what a table column and JSON hold.
    return {key: float(value) if isinstance(value, Decimal) else value for key, value in point.items()}


def _error_row(point: dict, exc: BaseException) -> dict:
    row = _parameters(point)
    row.update(dict.fromkeys(METRIC_COLUMNS))
    row["error"] = _one_line(exc)
    return row


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    # Input errors say what is wrong in their own words; anything else (KeyError('x'), KilledWorker) needs its name.
    if isinstance(exc, (InputError, ValueError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# The sweep -----------------------------------------------------------------------------------------------------------

def run_sweep(ticks, config_text: str, config_path, grid: dict[str, list], base: BacktestConfig = BacktestConfig(),
              *, scheduler: str | None = None, workers: int | None = None, progress=None) -> list[dict]:
    """Backtest every point of ``grid`` on ``dask.distributed``; one row per point (see :func:`run_point`), in grid
    order.

    Parameters
    ----------
    ticks : TickTable
        Scattered to every worker once.
    config_text, config_path :
        The engine config's TOML text, and the name its errors give it.
    grid : dict
        :func:`parse_grid`'s result (or any ``{key: [values]}`` of grid keys).
    base : BacktestConfig
        What the points do not set.
    scheduler : str, optional
        A Dask scheduler's address (``tcp://HOST:PORT``); its workers need hedgegate installed. Default: a
        :class:`~distributed.LocalCluster` of ``workers`` processes (default one per core, never more than points),
        one thread each, closed at the end.
    progress : callable, optional
        ``progress(done, total)`` after each point.
    """
    from concurrent.futures import CancelledError

    from distributed import Client, LocalCluster, as_completed   # dask is a heavy import, only a sweep needs it

    todo = points(grid)
    total = len(todo)
    if not total:                   # a key with no values: nothing to run, no cluster to start
        return []
    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, set_as_default=False)
        except OSError as exc:      # dask's own message says "Timed out trying to connect", not what to check
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler} (is it running, and is the "
                                  f"address right?): {exc}") from exc
    else:
        count = max(1, min(workers or os.cpu_count() or 1, total))
        # allowed_failures=0: a point whose process dies (a crash, memory) fails at once with KilledWorker. Dask's
        # default retries it on 3 more workers, and a point that kills every process it runs in would take every
        # worker down, and with them every copy of the scattered ticks, which cancels all the other points.
        # The scheduler's HTTP endpoints (health, metrics) listen even without a dashboard, on 8787 by default: a
        # free local port instead, so that two sweeps (or a sweep and a notebook's cluster) do not contend for it.
        cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None,
                               scheduler_kwargs={"allowed_failures": 0, "dashboard_address": "127.0.0.1:0"})
        try:
            client = Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
    try:
        rows: list = [None] * total
        pending, done = list(range(total)), 0
        for attempt in range(_ROUNDS):
            # hash=False: a random key instead of tokenizing (pickling) millions of ticks just to name them.
            shared = client.scatter(ticks, broadcast=True, hash=False)
            futures = [client.submit(run_point, shared, config_text, config_path, base, todo[i], pure=False)
                       for i in pending]
            index = {future.key: i for future, i in zip(futures, pending)}
            lost = []
            # loop=: the client is not the process-wide default (set_as_default=False leaves a caller's own alone).
            for future in as_completed(futures, loop=client.loop):
                i = index[future.key]
                try:
                    rows[i] = future.result()
                except CancelledError as exc:
                    # Scattered data has no lineage: when the last worker holding the ticks is lost, dask cancels
                    # every point still to run. Those did nothing wrong; they get another round with fresh ticks.
                    if attempt + 1 < _ROUNDS:
                        lost.append(i)
                        continue
                    rows[i] = _error_row(todo[i], exc)
                except Exception as exc:   # noqa: BLE001 -- the task died outside run_point (worker lost, unpickling)
                    rows[i] = _error_row(todo[i], exc)
                future.release()           # its row is here; the cluster can drop the result
                done += 1
                if progress is not None:
                    progress(done, total)
            shared.release()
            pending = sorted(lost)
            if not pending:
                break
        return rows
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# Outputs -------------------------------------------------------------------------------------------------------------

def write_table(rows: list[dict], path) -> Path:
    """The rows as a Parquet file: every key of any row a column (parameters first, as the rows list them; then the
    metrics; ``error`` last); a cell a row lacks is null. Returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    if "error" in columns:
        columns["error"] = columns.pop("error")
    table = pa.table({name: _column(name, [row.get(name) for row in rows]) for name in columns})
    path = Path(path)
    pq.write_table(table, path)
    return path


def _column(name: str, values: list):
    import pyarrow as pa

    try:
        array = pa.array(values)
        # All None (a Sharpe ratio no point could define, an error column with no error): a typed column rather than
        # Arrow's null type, so that every sweep's table has the same schema.
        if pa.types.is_null(array.type):
            array = pa.array(values, type=pa.string() if name == "error" else pa.float64())
        return array
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed kinds (threshold_bps=50,abc: an int and the str of a failed point): one text column keeps them all.
        return pa.array([None if value is None else str(value) for value in values], type=pa.string())


def heatmap_values(rows: list[dict], grid: dict[str, list], metric: str):
    """The numbers :func:`heatmap` draws: a numpy array with a cell per value of the first key (axis 1, x) and of
    the second (axis 0, y), or one axis for a one-key grid (a single cell for none). A cell is the max of ``metric``
    over its rows (over the other keys' values); NaN where no row of it has a value (all failed, or None)."""
    import numpy as np

    keys = list(grid)[:2]
    axes = [grid[key] for key in keys]
    data = np.full([len(values) for values in reversed(axes)], np.nan)
    for row in rows:
        v = row.get(metric)
        if row.get("error") is not None or isinstance(v, bool) or not isinstance(v, (int, float)) \
                or not math.isfinite(v):
            continue
        at = tuple(_position(values, row.get(key)) for key, values in zip(reversed(keys), reversed(axes)))
        if None not in at and not data[at] >= v:      # NaN >= v is False: the first value fills an empty cell
            data[at] = v
    return data


def _position(values: list, given):
    """The index of ``given`` among a grid key's values. A row holds a Decimal value as a float, and True == 1 but
    a bool is not an int here."""
    for i, value in enumerate(values):
        if isinstance(value, Decimal) and isinstance(given, float):
            if float(value) == given:
                return i
        elif type(value) is type(given) and value == given:
            return i
    return None


def heatmap(rows: list[dict], grid: dict[str, list], metric: str, path) -> Path:
    """A PNG of ``metric`` over the grid. Returns the path.

    Two or more keys: a heat map with the first key's values across (x) and the second's up (y); with more keys a
    cell shows the best (max) over the others, and the title says so. One key: a bar chart. A cell or bar whose
    points all failed or have no value (a Sharpe ratio of a flat curve) is grey with an "x". Values are written in
    the cells. Drawn on its own Agg canvas, not through pyplot, so a caller's pyplot state is left alone.

    Raises ValueError for a metric the rows do not have (before anything is written).
    """
    import matplotlib as mpl
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    known = set(METRIC_COLUMNS).union(*(row.keys() for row in rows)) - set(grid) - {"error"}
    if metric not in known:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(sorted(known))}")
    keys = list(grid)
    data = heatmap_values(rows, grid, metric)
    xs = grid[keys[0]] if keys else ["base"]

    def label(value):
        return str(float(value)) if isinstance(value, Decimal) else str(value)

    figure = Figure(figsize=(max(5.0, 1.1 * len(xs) + 2.5), 4.5), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if len(keys) >= 2:
        ys = grid[keys[1]]
        cmap = mpl.colormaps["viridis"].with_extremes(bad="#d0d0d0")   # NaN cells (no value): grey
        image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, origin="lower", aspect="auto")
        figure.colorbar(image, ax=ax, label=metric)
        finite = data[np.isfinite(data)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        for j in range(len(ys)):
            for i in range(len(xs)):
                v = data[j, i]
                if np.isnan(v):
                    ax.text(i, j, "x", ha="center", va="center", color="#606060", fontsize=14)
                else:
                    dark = hi == lo or (v - lo) / (hi - lo) < 0.6   # light text on viridis' dark end, dark on light
                    ax.text(i, j, f"{v:.4g}", ha="center", va="center", color="white" if dark else "black",
                            fontsize=9)
        ax.set_xticks(range(len(xs)), [label(v) for v in xs])
        ax.set_yticks(range(len(ys)), [label(v) for v in ys])
        ax.set_xlabel(keys[0])
        ax.set_ylabel(keys[1])
    else:
        found = np.atleast_1d(data)
        ax.bar(range(len(xs)), np.nan_to_num(found), color="#3b75af")
        ax.margins(y=0.12)                  # room for the labels above (or below) the tallest bars
        for i, v in enumerate(found):
            if np.isnan(v):
                # A failed point has no height: a grey band over the whole axis, its "x" half-way up.
                ax.axvspan(i - 0.4, i + 0.4, color="#d0d0d0")
                ax.text(i, 0.5, "x", ha="center", va="center", color="#606060", fontsize=14,
                        transform=ax.get_xaxis_transform())
            else:
                ax.text(i, v, f"{v:.4g}", ha="center", va="bottom" if v >= 0 else "top", fontsize=9)
        ax.axhline(0, color="#808080", linewidth=0.8)
        ax.set_xticks(range(len(xs)), [label(v) for v in xs])
        ax.set_xlabel(keys[0] if keys else "")
        ax.set_ylabel(metric)
    others = keys[2:]
    ax.set_title(metric + (f" (max over {', '.join(others)})" if others else ""))
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, format="png")
    return path
