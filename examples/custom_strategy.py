"""A strategy of your own: a volatility-scaled hedge (the HedgingStrategy protocol, docs/strategies.md).

Hedge ``base_ratio`` when the hedge instrument is calm, less when it is wild: the ratio is scaled by
``target_vol / realised_vol`` (capped at 1), where realised_vol is the standard deviation of the last ``window``
changes of its bars. Anything with ``compute(market, params) -> list[LegPush]`` is a strategy; building the values
with the register helpers gives the same checks (a ratio that does not fit is an error naming it) and the same
rounding report as the built-in strategies.

    python examples/custom_strategy.py          # runs it over the bundled session through the model
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hedgegate import HedgingStrategy, StrategyError, StrategyRunner
from hedgegate.host.board import open_board
from hedgegate.host.config import load_config
from hedgegate.host.marketdata import load_ticks
from hedgegate.host.strategies.registers import LegPush, ratio_register
from hedgegate.host.stream import stream_ticks
from hedgegate.hw.regmap import LegReg


@dataclass
class VolatilityScaledHedge:
    base_ratio: float
    target_vol: float           # price units per bar
    window: int = 20
    symbol: int = 0
    leg: int = 0

    def compute(self, market, params) -> list[LegPush]:
        changes = np.diff(market.series(self.symbol))[-self.window:]
        if len(changes) < self.window:
            raise StrategyError(f"symbol {self.symbol}: {len(changes)} bar changes, the window needs {self.window}")
        vol = float(np.std(changes, ddof=1))
        scale = 1.0 if vol <= self.target_vol else self.target_vol / vol
        ratio = self.base_ratio * scale
        values = [ratio_register("hedge_ratio", ratio), ratio_register("alt_hedge_ratio", ratio)]
        return [LegPush(self.leg, "hedge", values, {"realised_vol": vol, "scale": scale, "hedge_ratio": ratio})]


def main():
    examples = Path(__file__).resolve().parent
    config = load_config(examples / "ttf-hedge.toml")
    ticks = load_ticks(examples / "ttf-eua-ticks.csv", config.params)
    strategy = VolatilityScaledHedge(base_ratio=1.0, target_vol=0.01)
    assert isinstance(strategy, HedgingStrategy)
    runner = StrategyRunner(config, [strategy], every_ticks=200, bar_ticks=20)
    commands = runner.plan(ticks)
    with open_board("model", config.params) as board:
        summary = stream_ticks(board, config, commands)
    pushed = [entry for entry in runner.log if entry.pushes]
    print(f"{len(ticks)} ticks, {len(pushed)} pushes ({len(runner.log) - len(pushed)} skipped while the window "
          f"filled), {summary['recommendations']} recommendations, hedge positions {summary['hedge_positions']}")
    for entry in pushed[:5]:
        push = entry.pushes[0]
        print(f"  after tick {entry.tick}: realised vol {push.estimates['realised_vol']:.4f}, ratio "
              f"{push.estimates['hedge_ratio']:.4f} -> hedge_ratio register {push.registers[LegReg.HEDGE_RATIO]}")
    return runner, summary


if __name__ == "__main__":
    main()
