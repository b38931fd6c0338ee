"""hw/rec_queue.py in Amaranth's simulator: recommendation vectors in, REC payloads out, across two clocks or one.

Expectation, from the vectors sent: the REC payloads are the fired slots of the vectors, in vector order and leg
order within a vector, each carrying its vector's tick and cycle stamps; a vector is delivered whole or not at all;
the slots of the vectors not delivered are exactly the ones counted on ``dropped``; with the consumer keeping up
and vectors no closer than a handshake's round trip, nothing is dropped.
"""

import random

import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hedgegate.hw.frame_encoder import rec_payload_layout
from hedgegate.hw.layouts import pack, recs_layout, unpack
from hedgegate.hw.params import CoreParams
from hedgegate.hw.rec_queue import RecQueue

CORE_PERIOD_NS = 3.7       # the serial side runs at 10 ns: clocks that drift past each other, as on the board
SERIAL_PERIOD_NS = 10.0


def random_vector(rng, params, tick):
    legs = [{"fire": int(rng.random() < 0.6), "side": rng.randrange(2), "qty": rng.randrange(1 << 32),
             "price": rng.randrange(-(1 << (params.price_width - 1)), 1 << (params.price_width - 1)),
             "hedge_position": rng.randrange(-(1 << 31), 1 << 31), "seq": rng.randrange(1 << 32)}
            for _ in range(params.legs)]
    if not any(slot["fire"] for slot in legs):
        legs[rng.randrange(params.legs)]["fire"] = 1          # the core offers only vectors that fired
    return {"tick": tick, "cycle_in": rng.randrange(1 << 32), "cycle_out": rng.randrange(1 << 32), "legs": legs}


def expected_recs(vector):
    return [{"leg": leg, "side": slot["side"], "seq": slot["seq"], "tick": vector["tick"], "qty": slot["qty"],
             "price": slot["price"], "hedge_position": slot["hedge_position"], "cycle_in": vector["cycle_in"],
             "cycle_out": vector["cycle_out"]}
            for leg, slot in enumerate(vector["legs"]) if slot["fire"]]


def run_queue(params, *, two_clocks, count, gap, ready_probability, depth, seed):
    """Sends `count` vectors, `gap` idle write-side cycles apart (at least), into a RecQueue whose reader takes a REC
    with `ready_probability` per cycle. Returns (vectors sent, RECs received, total of `dropped`)."""
    rng = random.Random(seed)
    w_domain = "core" if two_clocks else "sync"
    m = Module()
    m.domains.sync = ClockDomain()
    if two_clocks:
        m.domains.core = ClockDomain()
    m.submodules.dut = dut = RecQueue(params, depth=depth, w_domain=w_domain)
    layout = recs_layout(params)
    vectors = [random_vector(rng, params, tick) for tick in range(count)]
    received, dropped = [], [0]
    done = [False]

    async def writer(ctx):
        async def cycle():                           # one write-side cycle, adding up what `dropped` counts in it
            _, _, lost = await ctx.tick(w_domain).sample(dut.dropped)
            dropped[0] += lost

        for vector in vectors:
            ctx.set(dut.recs.valid, 1)
            ctx.set(dut.recs.payload.as_value(), pack(layout, vector))
            await cycle()
            ctx.set(dut.recs.valid, 0)
            for _ in range(gap + rng.randrange(gap + 1)):
                await cycle()
        for _ in range(8):                           # a drop is counted a cycle after the vector (its register)
            await cycle()
        done[0] = True

    async def reader(ctx):
        idle = 0
        while not done[0] or idle < 2000:
            ready = rng.random() < ready_probability
            ctx.set(dut.rec.ready, ready)
            _, _, valid, payload = await ctx.tick("sync").sample(dut.rec.valid, dut.rec.payload.as_value())
            if valid and ready:
                received.append(unpack(rec_payload_layout, payload))
                idle = 0
            else:
                idle += 1

    sim = Simulator(m)
    sim.add_clock(SERIAL_PERIOD_NS * 1e-9, domain="sync")
    if two_clocks:
        sim.add_clock(CORE_PERIOD_NS * 1e-9, domain="core")
    sim.add_testbench(writer)
    sim.add_testbench(reader)
    sim.run()
    return vectors, received, dropped[0]


def split_delivered(vectors, received):
    """Matches the RECs against the vectors in order: (vectors delivered whole, vectors missing). Fails if a vector
    arrives in part or out of order."""
    delivered, missing, position = [], [], 0
    for vector in vectors:
        recs = expected_recs(vector)
        if received[position:position + len(recs)] == recs:
            delivered.append(vector)
            position += len(recs)
        else:
            assert all(rec["tick"] != vector["tick"] for rec in received[position:]), \
                f"tick {vector['tick']}: delivered in part or out of order"
            missing.append(vector)
    assert position == len(received), f"{len(received) - position} RECs match no vector"
    return delivered, missing


@pytest.mark.parametrize("two_clocks", [True, False], ids=["two-clocks", "one-clock"])
@pytest.mark.parametrize("legs", [1, 2, 3])
def test_every_vector_delivered_in_order(two_clocks, legs):
    """Vectors a round trip apart (20 write-side cycles), a reader that keeps up: no loss, nothing counted."""
    params = CoreParams(legs=legs)
    vectors, received, dropped = run_queue(params, two_clocks=two_clocks, count=60, gap=20, ready_probability=0.7,
                                           depth=4, seed=legs)
    assert received == [rec for vector in vectors for rec in expected_recs(vector)]
    assert dropped == 0


@pytest.mark.parametrize("two_clocks", [True, False], ids=["two-clocks", "one-clock"])
def test_overflow_drops_whole_vectors_and_counts_them(two_clocks):
    """Vectors back to back into a 4-deep queue whose reader rarely takes one: most are dropped, each whole, and the
    count on ``dropped`` is exactly the fired slots of those missing."""
    params = CoreParams(legs=3)
    vectors, received, dropped = run_queue(params, two_clocks=two_clocks, count=120, gap=0, ready_probability=0.05,
                                           depth=4, seed=7)
    delivered, missing = split_delivered(vectors, received)
    assert len(delivered) >= 4 and missing, (len(delivered), len(missing))
    assert dropped == sum(len(expected_recs(vector)) for vector in missing)
