"""A CSV record that an unterminated quote ran on: one bound and one reason, for every reader of
CSV (batch-predict's babyweight/batch/csv_reader.py, the runner's staging).

A quoted field may hold newlines, so csv.reader (and pyarrow) read a record across lines until
the quote closes. A quote that never closes, or that a stray quote far below closes, makes one
"record" of hundreds of lines, good rows among them. A record of more than MAX_RECORD_LINES
physical lines is taken to be that: it is refused with a reason that names the line where the
quote opened and how many lines it swallowed, so the file can be fixed.
"""

from __future__ import annotations

MAX_RECORD_LINES = 10  # physical lines of one record; a longer one is an unterminated quote


def swallowed_lines(first_line: int, lines: int) -> str | None:
    """Why a record from `first_line` over `lines` physical lines is not a row, or None."""
    if lines <= MAX_RECORD_LINES:
        return None
    return f"unterminated quote from line {first_line} swallowed {lines - 1} lines"
