"""DeltaHedge: a fixed hedge ratio."""

from dataclasses import dataclass

from .registers import LegPush, position_register, ratio_register

__all__ = ["DeltaHedge"]


@dataclass
class DeltaHedge:
    """Hedge the exposure P with a fixed ratio: target hedge = -P x ratio (10,000 MWh short at 1.125: 11,250 long).

    Parameters
    ----------
    ratio : float
        Hedge instrument units per unit of exposure.
    position : float, optional
        The exposure P (pushed into ``position`` when given; otherwise the config's stays).
    leg : int
        The leg it drives.
    """
    ratio: float
    position: float | None = None
    leg: int = 0

    def hedge(self, position: float) -> float:
        """The target hedge position for an exposure ``position``."""
        return -position * self.ratio

    def compute(self, market=None, params=None) -> list[LegPush]:
        values = [ratio_register("hedge_ratio", self.ratio), ratio_register("alt_hedge_ratio", self.ratio)]
        estimates = {"hedge_ratio": float(self.ratio)}
        if self.position is not None:
            values.insert(0, position_register("position", self.position))
            estimates["hedge"] = self.hedge(float(self.position))
        return [LegPush(self.leg, "hedge", values, estimates)]
