"""Board build targets (``boards.toml``), installed with the package so that a non-editable install can build.

Read by :mod:`hedgegate.hw.board`; see README.md in this folder.
"""
