"""cocotb entry point of the ``sim`` backend (see :mod:`.backend`): feeds a command stream, collects the outputs."""

import os
import pickle

import cocotb

from .runner import params_from_env
from .testbench import CoreTestbench


@cocotb.test()
async def replay(dut):
    with open(os.environ["HEDGEGATE_REPLAY_IN"], "rb") as request:
        job = pickle.load(request)
    bench = CoreTestbench(dut, params_from_env(), collect=True, collect_traces=job["trace"])
    await bench.start()
    await bench.run(job["commands"])
    with open(os.environ["HEDGEGATE_REPLAY_OUT"], "wb") as out:
        pickle.dump((bench.recs, bench.traces if job["trace"] else None,
                     {"tick_cycles": bench.tick_cycles}), out)
