"""``hedgegate strategy NAME``: what a strategy would push, in human units and raw register values.

One sub-command per strategy (pinned names and JSON keys, docs/cli.md): ``delta``, ``mvhr``, ``mean-reversion``,
``delta-gamma``, ``spark-spread``. ``--json`` prints one object: the unrounded estimates as floats, the rounded
register values under ``registers`` (register name -> raw value; for several legs, leg name -> that), and what was
rounded under ``rounded``.
"""

import json
import sys
from decimal import Decimal

from ..hw.params import CoreParams
from .strategies import (DeltaGammaHedge, DeltaHedge, MeanReversionHedge, MeanReversionParams, MVHRStrategy,
                         SparkSpreadHedge, SparkSpreadParams, StrategyError, align, load_options, load_prices)

__all__ = ["add_strategy_parser"]


def _delta(args, params):
    strategy = DeltaHedge(args.ratio, position=args.position)
    pushes = strategy.compute()
    return {"hedge_ratio": float(args.ratio), "hedge": strategy.hedge(args.position)}, pushes


def _mvhr(args, params):
    exposure, hedge, dropped = align(load_prices(args.exposure), load_prices(args.hedge))
    strategy = MVHRStrategy(args.window)
    estimate = strategy.estimate(exposure.prices, hedge.prices)
    pushes = [strategy.push(estimate)]
    return {"hedge_ratio": estimate.hedge_ratio, "effectiveness": estimate.effectiveness,
            "observations": estimate.observations, "dropped": sum(dropped.values()), "dropped_by": dropped,
            "first_date": str(exposure.dates[-estimate.observations - 1]), "last_date": str(exposure.dates[-1])}, pushes


def _mean_reversion(args, params):
    prices = load_prices(args.prices)
    strategy = MeanReversionHedge(MeanReversionParams(args.kappa, args.threshold_z, args.hedge_strength),
                                  ratio=args.ratio, window=args.window, dt=args.dt, tick=Decimal(args.tick))
    fit = strategy.fit(prices.prices)
    push = strategy.push(fit, params)
    keys = ("kappa", "mu", "sigma", "half_life", "band", "alt_hedge_ratio", "b", "observations")
    return {**{key: push.estimates[key] for key in keys}, "dropped": sum(prices.dropped.values())}, [push]


def _delta_gamma(args, params):
    strategy = DeltaGammaHedge(load_options(args.options), rate=args.rate, tick=Decimal(args.tick))
    push = strategy.push(args.underlying, params)
    return {key: push.estimates[key] for key in ("delta", "gamma", "anchor")}, [push]


def _spark_spread(args, params):
    strategy = SparkSpreadHedge(SparkSpreadParams(args.heat_rate, args.carbon_intensity), args.power_position)
    return {"legs": strategy.hedges()}, strategy.compute()


def _run(args) -> int:
    params = CoreParams()
    try:
        estimates, pushes = args.strategy_run(args, params)
    except StrategyError as exc:
        print(f"hedgegate: error: strategy {args.strategy}: {exc}", file=sys.stderr)
        return 2
    registers = ({v.name: v.register for v in pushes[0].values} if len(pushes) == 1 else
                 {push.name: {v.name: v.register for v in push.values} for push in pushes})
    rounded = [line for push in pushes for line in push.rounding()]
    if args.json:
        print(json.dumps({"strategy": args.strategy, **estimates, "registers": registers, "rounded": rounded}))
        return 0
    print(f"strategy {args.strategy}:")
    for key, value in estimates.items():
        print(f"  {key}: {value}")
    for push in pushes:
        print(f"  registers ({push.name}, leg {push.leg}): "
              + ", ".join(f"{v.name} = {v.register} ({v.held})" for v in push.values))
    for line in rounded:
        print(f"  rounded: {line}")
    return 0


def add_strategy_parser(commands) -> None:
    parser = commands.add_parser("strategy", help="what a hedging strategy would push into the leg registers",
                                 description="Estimate a strategy's parameters and print what it would push into a "
                                             "hedge leg: human units and raw register values (docs/strategies.md).")
    names = parser.add_subparsers(dest="strategy", required=True, metavar="NAME")

    def sub(name, run, help_text):
        command = names.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--json", action="store_true", help="one JSON object on stdout")
        command.set_defaults(run=_run, strategy_run=run)
        return command

    c = sub("delta", _delta, "DeltaHedge: a fixed ratio")
    c.add_argument("--ratio", type=float, required=True, help="hedge ratio")
    c.add_argument("--position", type=float, required=True, help="exposure P (units; negative: short)")
    c = sub("mvhr", _mvhr, "MVHRStrategy: minimum-variance ratio over a window of price changes")
    c.add_argument("--exposure", required=True, metavar="S.csv", help="Date,Price series of the exposure")
    c.add_argument("--hedge", required=True, metavar="F.csv", help="Date,Price series of the hedge instrument")
    c.add_argument("--window", type=int, required=True, metavar="N", help="price changes in the window")
    c = sub("mean-reversion", _mean_reversion, "MeanReversionHedge: OU fit -> band and reduced ratio")
    c.add_argument("--prices", required=True, metavar="F.csv", help="Date,Price series of the hedge instrument")
    c.add_argument("--ratio", type=float, default=1.0, help="base hedge ratio (default 1)")
    c.add_argument("--threshold-z", type=float, required=True, metavar="Z", help="band half-width in stationary SDs")
    c.add_argument("--hedge-strength", type=float, required=True, metavar="S", help="share of the ratio outside")
    c.add_argument("--kappa", type=float, help="mean-reversion speed per observation (default: fitted)")
    c.add_argument("--window", type=int, metavar="N", help="prices fitted (default: all)")
    c.add_argument("--dt", type=float, default=1.0, help="time between observations (default 1)")
    c.add_argument("--tick", default="0.001", help="the instrument's tick size: band prices on its grid")
    c = sub("delta-gamma", _delta_gamma, "DeltaGammaHedge: Black-76 delta and gamma of an options book")
    c.add_argument("--options", required=True, metavar="OPTIONS.csv", help="kind,strike,t,vol,quantity")
    c.add_argument("--underlying", type=float, required=True, metavar="F", help="the future's price")
    c.add_argument("--rate", type=float, required=True, metavar="R", help="rate, continuously compounded (0.03)")
    c.add_argument("--tick", default="0.001", help="the future's tick size: the anchor on its grid")
    c = sub("spark-spread", _spark_spread, "SparkSpreadHedge: a power position hedged with gas and carbon")
    c.add_argument("--power-position", type=float, required=True, metavar="P", help="MWh of power")
    c.add_argument("--heat-rate", type=float, default=2.0, metavar="HR", help="MWh gas per MWh power (2.0)")
    c.add_argument("--carbon-intensity", type=float, default=0.4, metavar="CI", help="t CO2 per MWh power (0.4)")
