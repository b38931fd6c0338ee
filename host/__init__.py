"""hedgegate's host side: number formats, config and tick loaders, the bit-exact model, replay and the CLI.

The installed package ``hedgegate`` is assembled from the repository's top-level folders: ``hedgegate.hw`` (``hw/``,
the Amaranth gateware), ``hedgegate.host`` (``host/``) and ``hedgegate.sim`` (``sim/``, cocotb testbenches and the
Verilator runner).
"""

__version__ = "0.1.0"
