"""hw/uart.py in Amaranth's simulator: TX -> RX loopback, hand-made waveforms (bad stop bit, glitch), overrun."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from hedgegate.hw.uart import UARTRx, UARTTx


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


class Monitor:
    """Per-cycle record of the receiver's outputs, taken before each clock edge (comb values settled)."""

    def __init__(self, rx: UARTRx):
        self.rx = rx
        self.received = []
        self.errors = 0
        self.overruns = 0

    def sample(self, ctx):
        rx = self.rx
        if ctx.get(rx.stream.valid) and ctx.get(rx.stream.ready):
            self.received.append(ctx.get(rx.stream.payload))
        self.errors += ctx.get(rx.error)
        self.overruns += ctx.get(rx.overrun)


def waveform(byte: int, divisor: int, stop: int = 1) -> list[int]:
    """Line levels, one per cycle, of one 8N1 character (stop bit level given)."""
    bits = [0] + [(byte >> i) & 1 for i in range(8)] + [stop]
    return [bit for bit in bits for _ in range(divisor)]


@pytest.mark.parametrize("divisor", [4, 7])
def test_loopback(divisor):
    rng = random.Random(divisor)
    payload = [rng.randrange(256) for _ in range(48)] + [0x00, 0xFF, 0xA5, 0x5A]
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    monitor = Monitor(rx)
    accepted_at = []

    async def bench(ctx):
        ctx.set(rx.stream.ready, 1)
        assert ctx.get(tx.tx) == 1
        cycle = 0
        pending = list(payload)
        while pending or len(monitor.received) < len(payload):
            assert cycle < 12 * divisor * (len(payload) + 4), "timeout"
            # Back-to-back bytes for the first half, then gaps of random length.
            gap = len(pending) < len(payload) // 2 and rng.random() < 0.02
            if pending and not gap:
                ctx.set(tx.stream.valid, 1)
                ctx.set(tx.stream.payload, pending[0])
                if ctx.get(tx.stream.ready):
                    accepted_at.append(cycle)
                    pending.pop(0)
            else:
                ctx.set(tx.stream.valid, 0)
            monitor.sample(ctx)
            await ctx.tick()
            cycle += 1
        ctx.set(tx.stream.valid, 0)

    run(m, bench)
    assert monitor.received == payload
    assert monitor.errors == 0 and monitor.overruns == 0
    # A continuous stream runs at exactly 10 bit times per byte.
    half = len(payload) // 2
    assert all(b - a == 10 * divisor for a, b in zip(accepted_at[:half], accepted_at[1:half]))


def drive(rx: UARTRx, levels, monitor: Monitor, ready=lambda cycle: 1):
    async def bench(ctx):
        for cycle, level in enumerate(levels):
            ctx.set(rx.rx, level)
            ctx.set(rx.stream.ready, ready(cycle))
            monitor.sample(ctx)
            await ctx.tick()
    return bench


@pytest.mark.parametrize("divisor", [4, 7])
def test_bad_stop_bit(divisor):
    rx = UARTRx(divisor)
    monitor = Monitor(rx)
    levels = [1] * 5 + waveform(0x3C, divisor, stop=0) + [0] * (3 * divisor)   # line held low (a break)
    levels += [1] * 5 + waveform(0xC3, divisor) + [1] * 2 * divisor
    run(rx, drive(rx, levels, monitor))
    assert monitor.errors == 1
    assert monitor.received == [0xC3]       # the bad byte is discarded, the next one is received
    assert monitor.overruns == 0


def test_glitch_is_ignored():
    divisor = 8
    rx = UARTRx(divisor)
    monitor = Monitor(rx)
    levels = [1] * 5 + [0, 0] + [1] * 3 * divisor + waveform(0x81, divisor) + [1] * 2 * divisor
    run(rx, drive(rx, levels, monitor))
    assert monitor.received == [0x81]
    assert monitor.errors == 0 and monitor.overruns == 0


@pytest.mark.parametrize("divisor", [4, 7])
def test_overrun(divisor):
    """The consumer is not ready for three bytes: the first waits, the next two are dropped and counted."""
    rx = UARTRx(divisor)
    monitor = Monitor(rx)
    first = [1] * 3
    for byte in (0x11, 0x22, 0x33):
        first += waveform(byte, divisor)
    release = len(first) + divisor
    levels = first + [1] * 2 * divisor + waveform(0x44, divisor) + [1] * 2 * divisor
    run(rx, drive(rx, levels, monitor, ready=lambda cycle: int(cycle >= release)))
    assert monitor.overruns == 2
    assert monitor.received == [0x11, 0x44]
    assert monitor.errors == 0


def test_divisor_checked():
    with pytest.raises(ValueError):
        UARTRx(3)
    with pytest.raises(ValueError):
        UARTTx(2)


@pytest.mark.parametrize("ratio", [0.965, 1.035])
def test_bit_rate_mismatch(ratio):
    """The sender's bit time off by 3.5 % (the receiver, at divisor 16, tolerates about 4.6 %)."""
    divisor = 16
    rng = random.Random(int(ratio * 1000))
    payload = [rng.randrange(256) for _ in range(12)] + [0x00, 0xFF, 0x55, 0xAA]
    bit_time = divisor * ratio
    bits = [1] * 3
    for byte in payload:
        bits += [0] + [(byte >> i) & 1 for i in range(8)] + [1]   # back to back, no idle time between bytes
    bits += [1] * 3
    levels = [bits[int(cycle / bit_time)] for cycle in range(int(len(bits) * bit_time))]
    rx = UARTRx(divisor)
    monitor = Monitor(rx)
    run(rx, drive(rx, levels, monitor))
    assert monitor.received == payload
    assert monitor.errors == 0 and monitor.overruns == 0
