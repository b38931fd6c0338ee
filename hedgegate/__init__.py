"""hedgegate: an FPGA hedging engine for energy derivatives.

The package is assembled from the repository's top-level folders:

* ``hedgegate.hw``   (``hw/``)   -- Amaranth gateware: order book, hedge law, core.
* ``hedgegate.host`` (``host/``) -- host side: number formats, config and tick loaders, the bit-exact model, CLI.
* ``hedgegate.sim``  (``sim/``)  -- cocotb testbenches and the Verilator runner.
"""

__version__ = "0.1.0"
