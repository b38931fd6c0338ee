"""The identity of a design: which core a board runs, as constants its status registers answer.

A host must know what it talks to before it streams: ticks and register values are checked against the core's
widths, recommendations are only comparable with the model's for the same shape, and a board flashed from other
sources may behave differently. So the serial side answers READs of the :class:`~.regmap.IdentityReg` addresses
with the core's parameters and a hash of the design, and the host (``hedgegate status``, ``stream``) reads them.

The design hash is the first 32 bits of SHA-256 over the core's parameters and the code of the gateware's source
files (every ``hw/*.py``, by name, without comments, docstrings and blank lines): equal hashes mean the same
parameters built from the same code. It is not a hash of the netlist, which would cost the host a conversion to
Verilog (seconds) before every stream; and comments and docstrings are left out so that editing them changes
neither the hash nor, through it, the netlist and the boards' timing.
"""

import ast
import dataclasses
import functools
import hashlib
import io
import json
import tokenize
from pathlib import Path

from .params import CoreParams
from .regmap import IdentityReg

__all__ = ["design_identity", "design_hash", "params_from_identity", "code_text"]


def code_text(source: str) -> str:
    """``source`` without comments, docstrings, trailing spaces and blank lines: what the design hash covers."""
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column]
    return "\n".join(line.rstrip() for number, line in enumerate(lines, 1)
                     if number not in docstring_lines and line.strip())


@functools.cache
def _source_digest() -> bytes:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + code_text(path.read_text()).encode() + b"\0")
    return digest.digest()


def design_hash(params: CoreParams) -> int:
    """The design hash of a core with ``params`` built from this installation's gateware (see the module docstring)."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(params), sort_keys=True).encode() + _source_digest())
    return int.from_bytes(digest.digest()[:4], "big")


def design_identity(params: CoreParams) -> dict[IdentityReg, int]:
    """The value of every identity register (u32) for a core with ``params``."""
    return {
        IdentityReg.SYMBOLS: params.symbols,
        IdentityReg.LEVELS: params.levels,
        IdentityReg.LEGS: params.legs,
        IdentityReg.PRICE_WIDTH: params.price_width,
        IdentityReg.QTY_WIDTH: params.qty_width,
        IdentityReg.MUL_LATENCY: params.mul_latency,
        IdentityReg.VARIANT: int(params.compact_book) | int(params.compact_leg) << 1,
        IdentityReg.LATENCY: params.latency,
        IdentityReg.DESIGN_HASH: design_hash(params),
    }


def params_from_identity(values: dict[IdentityReg, int]) -> CoreParams:
    """The core parameters the identity registers describe (ValueError if they describe no valid core)."""
    return CoreParams(symbols=values[IdentityReg.SYMBOLS], levels=values[IdentityReg.LEVELS],
                      legs=values[IdentityReg.LEGS], price_width=values[IdentityReg.PRICE_WIDTH],
                      qty_width=values[IdentityReg.QTY_WIDTH], mul_latency=values[IdentityReg.MUL_LATENCY],
                      compact_book=bool(values[IdentityReg.VARIANT] & 1),
                      compact_leg=bool(values[IdentityReg.VARIANT] & 2))
