"""Study: cross-hedging WTI with Brent (daily spot, U.S. EIA) -- naive, static and rolling MVHR, out of sample.

    python bench/mvhr_study.py [--window 250] [--period 63] [--plot docs/img/mvhr-wti-brent.png]
                               [--out bench/results/mvhr-wti-brent-DATE.json]

The exposure S is a WTI-linked position, hedged with Brent F; both series aligned on their common dates
(hedgegate.host.strategies.align, with what was dropped reported) and differenced in price levels (USD/bbl: WTI
was -36.98 on 2020-04-20, so no logs). From the first ``window`` changes on, the sample is cut into periods of
``period`` changes; before each, three hedge ratios are set, and applied to the period's changes, which none of
them has seen:

* naive: h = 1;
* static: the MVHR of the first ``window`` changes, fitted once and kept;
* rolling: the MVHR of the ``window`` changes just before the period (MVHRStrategy's estimate).

Per period and pooled over all periods: the variance of the hedged changes dS - h dF, and the hedge effectiveness
1 - Var(hedged) / Var(dS). The rolling ratio's in-window R^2 is the effectiveness a backward look promises. Needs
../shared/data (wti-daily.csv, brent-daily.csv) and, for the plot, matplotlib (a dependency of hedgegate).
"""

import argparse
import datetime
import json
import platform
import subprocess
from pathlib import Path

import numpy as np

from hedgegate.host.strategies import align, load_prices, mvhr

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"


def study(window: int, period: int):
    wti, brent, dropped = align(load_prices(DATA / "wti-daily.csv"), load_prices(DATA / "brent-daily.csv"))
    ds, df = np.diff(wti.prices), np.diff(brent.prices)
    dates = wti.dates[1:]                                   # the date each change ends on
    static = mvhr(wti.prices[:window + 1], brent.prices[:window + 1]).hedge_ratio
    periods, hedged = [], {"naive": [], "static": [], "rolling": []}
    unhedged = []
    for start in range(window, len(ds) - period + 1, period):
        est = mvhr(wti.prices[start - window:start + 1], brent.prices[start - window:start + 1])
        s, f = ds[start:start + period], df[start:start + period]
        ratios = {"naive": 1.0, "static": static, "rolling": est.hedge_ratio}
        row = {"start": str(dates[start]), "end": str(dates[start + period - 1]), "rolling_ratio": est.hedge_ratio,
               "in_window_r2": est.effectiveness, "var_unhedged": float(np.var(s))}
        unhedged.append(s)
        for name, h in ratios.items():
            residual = s - h * f
            hedged[name].append(residual)
            row[f"effectiveness_{name}"] = 1 - float(np.var(residual)) / float(np.var(s)) if np.var(s) else None
        periods.append(row)
    all_s = np.concatenate(unhedged)
    pooled = {name: {"var_hedged": float(np.var(np.concatenate(r))),
                     "effectiveness": 1 - float(np.var(np.concatenate(r))) / float(np.var(all_s))}
              for name, r in hedged.items()}
    wins = {name: sum(1 for p in periods if p["effectiveness_rolling"] is not None and p[f"effectiveness_{name}"]
                      is not None and p["effectiveness_rolling"] > p[f"effectiveness_{name}"])
            for name in ("naive", "static")}
    return {"aligned_days": len(wti), "dropped": dropped, "first": str(wti.dates[0]), "last": str(wti.dates[-1]),
            "window": window, "period": period, "static_ratio": static, "periods": periods, "pooled": pooled,
            "var_unhedged": float(np.var(all_s)),
            "rolling_better_than_naive_pct": 100 * (1 - pooled["rolling"]["var_hedged"] /
                                                    pooled["naive"]["var_hedged"]),
            "rolling_better_than_static_pct": 100 * (1 - pooled["rolling"]["var_hedged"] /
                                                     pooled["static"]["var_hedged"]),
            "periods_rolling_beats": wins, "periods_total": len(periods)}


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    dates = [datetime.date.fromisoformat(p["start"]) for p in result["periods"]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    top.plot(dates, [p["rolling_ratio"] for p in result["periods"]], label=f"rolling MVHR ({result['window']} days)")
    top.axhline(1.0, color="grey", lw=0.8, ls="--", label="naive h = 1")
    top.axhline(result["static_ratio"], color="tab:orange", lw=0.8, label="static (first window)")
    top.set_ylabel("hedge ratio (Brent per WTI)")
    top.legend(loc="lower left", fontsize=8)
    bottom.plot(dates, [p["in_window_r2"] for p in result["periods"]], color="grey", lw=0.8,
                label="in-window R^2 (what the fit promises)")
    bottom.plot(dates, [p["effectiveness_rolling"] for p in result["periods"]], lw=1,
                label=f"rolling, out of sample (next {result['period']} days)")
    bottom.set_ylim(-1, 1)
    bottom.set_ylabel("hedge effectiveness")
    bottom.legend(loc="lower left", fontsize=8)
    fig.suptitle("WTI hedged with Brent, daily spot (EIA): rolling minimum-variance hedge ratio")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=int, default=250)
    parser.add_argument("--period", type=int, default=63)
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--out", metavar="JSON")
    args = parser.parse_args()
    result = study(args.window, args.period)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    result.update({"date": str(datetime.date.today()), "machine": platform.node(), "commit": commit})
    print(f"{result['first']} .. {result['last']}: {result['aligned_days']} common days (dropped {result['dropped']}),"
          f" {result['periods_total']} out-of-sample periods of {args.period} changes after a {args.window}-change "
          f"window")
    for name, pooled in result["pooled"].items():
        print(f"  {name:8s} hedged variance {pooled['var_hedged']:.4f} (unhedged {result['var_unhedged']:.4f}): "
              f"effectiveness {pooled['effectiveness']:.3f}")
    print(f"  rolling vs naive: {result['rolling_better_than_naive_pct']:+.1f} % variance, better in "
          f"{result['periods_rolling_beats']['naive']} of {result['periods_total']} periods; vs static: "
          f"{result['rolling_better_than_static_pct']:+.1f} %, better in {result['periods_rolling_beats']['static']}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    if args.plot:
        plot(result, args.plot)


if __name__ == "__main__":
    main()
