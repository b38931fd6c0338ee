"""SparkSpreadHedge: a power position hedged with gas and carbon, each on its own leg and symbol.

A gas-fired plant's power position P_power (MWh; negative when the power is sold forward) needs
``-P_power x heat_rate`` MWh of gas and ``-P_power x carbon_intensity`` t of CO2 allowances (EUA). Each hedge is
rounded to whole lots of its instrument (by default TTF in lots of 1 MWh, EUA in lots of 1,000 t) and pushed as
P = -lots, ratio 1 (so the leg's target is exactly the lots: no ratio rounding); the engine's quantities on these
legs are lots. What the rounding left unhedged is reported.
"""

import math
from dataclasses import dataclass

from .registers import LegPush, StrategyError, position_register, ratio_register

__all__ = ["SparkSpreadHedge", "SparkSpreadParams", "Instrument", "TTF", "EUA"]


@dataclass(frozen=True)
class Instrument:
    """A hedge instrument's name, quantity unit, lot size (in that unit) and price unit."""
    name: str
    unit: str
    lot: float
    price_unit: str


TTF = Instrument("gas", "MWh", 1.0, "EUR/MWh")
EUA = Instrument("carbon", "t", 1000.0, "EUR/t")


@dataclass(frozen=True)
class SparkSpreadParams:
    """``heat_rate``: MWh of gas per MWh of power (~2.0 for a CCGT at 50 % efficiency); ``carbon_intensity``: t of
    CO2 per MWh of power (~0.4 at 50 %)."""
    heat_rate: float = 2.0
    carbon_intensity: float = 0.4


@dataclass
class SparkSpreadHedge:
    """Two legs for one power position.

    Parameters
    ----------
    params : SparkSpreadParams
    power_position : float
        P_power in MWh.
    gas_leg, carbon_leg : int
        The legs (each on its own symbol in the engine config).
    gas, carbon : Instrument
    """
    params: SparkSpreadParams
    power_position: float = 0.0
    gas_leg: int = 0
    carbon_leg: int = 1
    gas: Instrument = TTF
    carbon: Instrument = EUA

    def hedges(self) -> list[dict]:
        """Per leg: ``name``, ``hedge`` (units, unrounded), ``lots`` (whole lots), ``unit``, ``lot``, ``unhedged``
        (units left by the rounding to lots)."""
        p = float(self.power_position)
        if not math.isfinite(p):
            raise StrategyError(f"power_position: {p} is not a finite number")
        legs = []
        for name, factor, instrument in (("heat_rate", self.params.heat_rate, self.gas),
                                         ("carbon_intensity", self.params.carbon_intensity, self.carbon)):
            if not (factor >= 0 and math.isfinite(factor)):
                raise StrategyError(f"{name}: must be a finite number >= 0, got {factor}")
            hedge = -p * factor
            lots = position_register(f"{instrument.name} lots", hedge / instrument.lot).register
            legs.append({"name": instrument.name, "hedge": hedge, "lots": lots, "unit": instrument.unit,
                         "lot": instrument.lot, "unhedged": hedge - lots * instrument.lot})
        return legs

    def compute(self, market=None, params=None) -> list[LegPush]:
        pushes = []
        for leg, hedge in zip((self.gas_leg, self.carbon_leg), self.hedges()):
            lots = -hedge["hedge"] / hedge["lot"]          # P = -lots, unrounded: the rounding is reported
            values = [position_register("position", lots), ratio_register("hedge_ratio", 1),
                      ratio_register("alt_hedge_ratio", 1)]
            pushes.append(LegPush(leg, hedge["name"], values, dict(hedge)))
        return pushes
