"""Errors in user input (config files, tick files) and the one helper that reads such files.

Every problem found in an input file is reported as an :class:`InputError` that names where it is: the file, the
1-based line when it is known, and the field (``engine.levels``, ``leg[0].band``, ``price``, ...). Its ``str()`` is a
single line in the usual compiler style, so the CLI can print it as is::

    ticks.csv:7: price: '45.x' is not a decimal number
    cfg.toml: leg[1].min_qty: must be >= 1, got 0
"""

import os


class InputError(Exception):
    """A problem in an input file: ``InputError(path, line, field, message)``; ``line`` and ``field`` may be None.

    ``str(err)`` is ``"{path}:{line}: {field}: {message}"`` with the missing parts (and their separators) left out,
    always on one line (line breaks in the parts are replaced by spaces).
    """

    def __init__(self, path, line: int | None, field: str | None, message: str):
        super().__init__(path, line, field, message)   # keeps the exception picklable
        self.path = path
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = "" if self.path is None else os.fspath(self.path)
        if self.line is not None:
            where += f":{self.line}" if where else f"line {self.line}"
        text = ": ".join(str(p) for p in (where, self.field, self.message) if p)
        return " ".join(text.splitlines())


def excerpt(text: str, limit: int = 40) -> str:
    """``text`` itself, or its start and length when longer than ``limit`` (keeps messages short)."""
    return text if len(text) <= limit else f"{text[:limit // 2]}... ({len(text)} characters)"


def read_bytes(path) -> bytes:
    """The bytes of the file at ``path``; an unreadable file raises InputError (``cannot read file: ...``)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InputError(path, None, None, f"cannot read file: {e.strerror or e}") from None


def decode_text(data: bytes, path) -> str:
    """``data`` decoded as UTF-8; InputError naming the line and byte where it is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(path, data.count(b"\n", 0, e.start) + 1, None,
                         f"not valid UTF-8 text (byte {e.start})") from None


def read_input(path) -> str:
    """Return the text of the UTF-8 file at ``path``; an unreadable or undecodable file raises InputError.

    Line endings are left untouched (no universal-newline translation), so callers count lines the same way
    whether they are given a path or a string.
    """
    return decode_text(read_bytes(path), path)
