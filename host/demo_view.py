"""The live view of ``hedgegate demo`` (drawn with ``rich``): a progress bar, a table of the legs (what each hedges,
its hedge position, its orders) and the last recommendations while the ticks stream; then the summary with the
latency side by side. :mod:`.demo` runs the demo and calls :meth:`DemoView.sent` and :meth:`DemoView.add_recs`."""

from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..hw.params import RATIO_FRAC_BITS
from .numbers import format_milli

__all__ = ["DemoView", "duration"]

_LAST = 8       # recommendations shown


def duration(ns: float) -> str:
    """``158.5 ns``, ``9.81 µs``, ``1.20 ms``."""
    if ns < 1000:
        return f"{ns:.1f} ns"
    if ns < 1_000_000:
        return f"{ns / 1000:.2f} µs"
    return f"{ns / 1_000_000:.2f} ms"


class DemoView:
    """The demo's screen.

    Parameters
    ----------
    config : EngineConfig
        The legs shown.
    ticks : int
        How many ticks will be streamed (the progress bar's total).
    report : dict
        The build report whose fmax converts cycles into time.
    report_name : str
        Its file name, to cite.
    """

    def __init__(self, config, ticks: int, report: dict, report_name: str):
        self.console = Console(stderr=True)
        self.config = config
        self.report = report
        self.report_name = report_name
        self.progress = Progress(TextColumn("streaming"), BarColumn(), MofNCompleteColumn(), TextColumn("ticks"),
                                 TimeElapsedColumn(), console=self.console)
        self.task = self.progress.add_task("ticks", total=ticks)
        self.hedge = [leg.hedge_position for leg in config.legs]
        self.orders = [0] * len(config.legs)
        self.last = deque(maxlen=_LAST)
        self._live = None

    def say(self, text: str):
        self.console.print(text)

    def live(self) -> Live:
        self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)
        return self._live

    def sent(self, count: int):
        self.progress.update(self.task, completed=count)
        self._refresh()

    def add_recs(self, recs):
        for rec in recs:
            self.hedge[rec.leg] = rec.hedge_position
            self.orders[rec.leg] += 1
            self.last.append(rec)
        self._refresh()

    def _refresh(self):
        if self._live is not None:
            self._live.update(self._render())

    def _render(self):
        legs = Table(title="legs", title_justify="left")
        for column in ("leg", "symbol", "exposure P", "ratio", "hedge H", "orders"):
            legs.add_column(column, justify="right")
        for index, leg in enumerate(self.config.legs):
            legs.add_row(str(index), str(leg.symbol), f"{leg.position:,}",
                         f"{leg.hedge_ratio / (1 << RATIO_FRAC_BITS):g}", f"{self.hedge[index]:,}",
                         str(self.orders[index]))
        recs = Table(title="last recommendations", title_justify="left")
        for column in ("seq", "tick", "leg", "side", "qty", "price", "H after", "cycles"):
            recs.add_column(column, justify="right")
        for rec in self.last:
            recs.add_row(str(rec.seq), str(rec.tick), str(rec.leg), rec.side.name, f"{rec.qty:,}",
                         format_milli(rec.price), f"{rec.hedge_position:,}",
                         "" if rec.latency_cycles is None else str(rec.latency_cycles))
        return Group(self.progress, legs, recs)

    def finish(self, summary: dict):
        """The closing summary: what ran, whether board and model agree, and the latency side by side."""
        params, report = summary["params"], self.report
        rate = summary["ticks_per_second"]
        self.console.print(
            f"\n{summary['ticks']:,} ticks through {summary['board']} (core S={params.symbols} N={params.levels} "
            f"L={params.legs}, mul_latency {params.mul_latency}) in {summary['seconds']:.2f} s"
            + (f" ({rate:,.0f} ticks/s)" if rate else "") + f": {summary['recommendations']} recommendations, "
            + ("[green]identical to the bit-exact model's[/green]" if summary["same"]
               else "[red]DIFFERENT from the model's[/red]")
            + f"; lost {summary['lost_recommendations']}, CRC errors {summary['crc_errors']}.")
        table = Table(title="latency, tick in to recommendation out", title_justify="left")
        for column in ("engine", "p50", "p99", "max", "measured"):
            table.add_column(column, justify="left" if column in ("engine", "measured") else "right",
                             no_wrap=column != "measured")
        core, cycles, model = summary["core_ns"], summary["core_cycles"], summary["model_ns"]
        notes = []
        if core:
            jitter = "no jitter" if len(set(cycles.values())) == 1 else f"{cycles['p50']}-{cycles['max']} cycles"
            table.add_row(f"FPGA core, {report['board'].upper()}", duration(core["p50"]), duration(core["p99"]),
                          duration(core["max"]), f"{cycles['p50']} cycles at {report['fmax_mhz']} MHz, {jitter}")
            notes.append(f"FPGA core: the core alone, tick handshake to recommendation (not the link), in cycles "
                         f"stamped by the gateware on every recommendation, at the fmax of bench/results/"
                         f"{self.report_name}" + ("" if summary["report_matches"]
                                                   else " (whose core is not the one that ran here)") + "."
                         + ("" if summary["report_current"] else " The report was built from other gateware code "
                            "than this installation's (its design hash differs): rebuild to refresh the fmax."))
        table.add_row("software model, Python", duration(model["p50"]), duration(model["p99"]),
                      duration(model["max"]), f"per tick, {summary['model_ticks']:,} ticks, this machine")
        notes.append("Software model: HedgeModel.tick (book update and every leg's law) timed per tick with "
                     "perf_counter_ns, in this run.")
        self.console.print(table)
        for note in notes:
            self.console.print(note, style="dim")
        if core and core["p50"] > 0:
            self.console.print(f"The core is {model['p50'] / core['p50']:,.0f} times faster at the median "
                               "(the same law, bit for bit).")
