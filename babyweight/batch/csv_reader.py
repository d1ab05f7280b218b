"""CSV files as batches of columns: pyarrow's CSV reader on byte ranges that Beam spreads out.

A record is what csv.reader (and so local_runner.py) reads as one: a quoted field may hold
commas, quotes ("") and newlines. Blank lines are not records. Each file has a header (its own:
files of one glob may order their columns differently).

- Ranges: a file with no quote character is cut in ranges of one size, about RANGE_BYTES, each
  ending after a newline (every newline ends a record there); a file with quotes, or a
  compressed one, is one range. Ranges are found by a first step and reshuffled, so the workers
  of a runner read them in parallel, the same number of ranges each.
- Reading: a range is read whole into memory, then parsed by pyarrow into string columns: one
  RecordBatch per range (or per ELEMENT_ROWS records), so that Beam's cost per element, and the
  checks' cost per distinct value, are shared by thousands of rows.
- Records that are not rows are (reason, text) pairs in the batch, never exceptions: a record
  with the wrong number of fields, one that is not UTF-8 text, or one of more than
  MAX_RECORD_LINES lines, which an unterminated quote ran on (babyweight/csv_records.py). A
  range that is not valid UTF-8, that pyarrow cannot parse, or that holds such a long record, is
  read record by record with Python's csv module instead (same records, same reasons), so one
  bad byte costs its own record and nothing else.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Callable, Iterator

from babyweight.batch.batches import RecordBatch
from babyweight.csv_records import MAX_RECORD_LINES, swallowed_lines
from babyweight.errors import UsageError

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

RANGE_BYTES = 1 << 20  # about 20,000 natality rows: enough ranges to keep two workers busy
ELEMENT_ROWS = 1 << 16  # at most this many records per RecordBatch (a range is usually fewer)
SCAN_BYTES = 8 << 20  # how much of a file the splitter reads at a time


class CsvInputError(UsageError, ValueError):
    """A file that cannot be read as CSV at all (no match, no header); the message is one line."""


@dataclasses.dataclass(frozen=True)
class CsvRange:
    """Records of one file from byte `start` (where a record starts) to `end` (None: the end of
    the file); `quoted` when a field may hold a newline."""

    path: str
    header: tuple[str, ...]
    start: int
    end: int | None
    quoted: bool


def matching_sizes(pattern: str) -> list[tuple[str, int]]:
    """(path, size in bytes) of each file the pattern matches, by path."""
    matches = FileSystems.match([pattern])[0].metadata_list
    if not matches:
        raise CsvInputError(f"--input {pattern!r}: no file matches")
    return sorted((m.path, m.size_in_bytes) for m in matches)


def matching_files(pattern: str) -> list[str]:
    return [path for path, _ in matching_sizes(pattern)]


def read_header(path: str) -> tuple[list[str], int]:
    """The column names (the first record) and the byte offset where the data starts."""
    consumed = []
    with FileSystems.open(path) as f:

        def lines():
            while line := f.readline():
                consumed.append(line)
                yield line.decode("utf-8-sig" if len(consumed) == 1 else "utf-8")

        try:
            header = next(csv.reader(lines()), None)
        except UnicodeDecodeError:
            raise CsvInputError(f"{path}: the header is not UTF-8 text") from None
    if not header:
        raise CsvInputError(f"{path}: no header (the file is empty)")
    return header, sum(map(len, consumed))


def _is_compressed(path: str) -> bool:
    return CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED


def _cut_points(path: str, start: int, range_bytes: int) -> list[int] | None:
    """Offsets just after the first newline at or after start + k * range_bytes (k = 1, 2, ...),
    so that the ranges keep one size; None when the file holds a quote character (a newline may
    then be inside a field)."""
    points, offset, target = [], 0, start + range_bytes
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        while block := f.read(SCAN_BYTES):
            if b'"' in block:
                return None
            look_from = target
            while look_from < offset + len(block):
                newline = block.find(b"\n", max(look_from - offset, 0))
                if newline < 0:
                    break  # the newline is in the next block
                points.append(offset + newline + 1)
                while target < points[-1]:  # a line longer than range_bytes spans targets
                    target += range_bytes
                look_from = target
            offset += len(block)
    return [p for p in points if p < offset]


def even_range_bytes(data_bytes: int, range_bytes: int) -> int:
    """About range_bytes, so that `data_bytes` cut in ranges of it gives ranges of one size: a
    runner hands each worker the same number of ranges, and a short last range of every file
    would leave the workers unequal work."""
    pieces = max(1, round(data_bytes / range_bytes))
    return -(-data_bytes // pieces)


def file_ranges(
    path: str, range_bytes: int = RANGE_BYTES, size: int | None = None
) -> list[CsvRange]:
    """The file's ranges. `size`: its size in bytes, when a match of a pattern already gave it
    (on GCS another match is another request per file)."""
    header, start = read_header(path)
    header = tuple(header)
    points = None
    if not _is_compressed(path):
        if size is None:
            size = matching_sizes(path)[0][1]
        points = _cut_points(path, start, even_range_bytes(size - start, range_bytes))
    if points is None:
        return [CsvRange(path, header, start, None, quoted=True)]
    bounds = [start, *points, None]
    return [
        CsvRange(path, header, a, b, quoted=False) for a, b in zip(bounds, bounds[1:], strict=False)
    ]


def csv_ranges(pattern: str, range_bytes: int = RANGE_BYTES) -> list[CsvRange]:
    return [
        r for path, size in matching_sizes(pattern) for r in file_ranges(path, range_bytes, size)
    ]


def _range_bytes(r: CsvRange) -> bytes:
    with FileSystems.open(r.path) as f:  # compressed files are decompressed as read
        f.seek(r.start)
        return f.read() if r.end is None else f.read(r.end - r.start)


def record_problem(count: int, width: int, text: str) -> str | None:
    """Why a record of `count` fields is not a row of `width` fields, or None when it is."""
    if count == 1 and not text.strip():
        return "csv: empty line"
    if count != width:
        return f"csv: expected {width} fields, got {count}"
    return None


def _pyarrow_table(data: bytes, r: CsvRange, unreadable: list):
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    def invalid_row(row) -> str:
        problem = record_problem(row.actual_columns, row.expected_columns, row.text)
        unreadable.append((problem or "csv: not a row", row.text))
        return "skip"

    # open_csv, not read_csv: on Python 3.10 read_csv sets up pyarrow's signal handling, which
    # scans every object of the process (gc.get_referrers) on each call, ~0.1 s beside TF.
    reader = pa_csv.open_csv(
        io.BytesIO(data),
        read_options=pa_csv.ReadOptions(
            column_names=list(r.header),
            use_threads=False,
            block_size=max(1 << 20, min(len(data) + 1, 1 << 30)),
        ),
        parse_options=pa_csv.ParseOptions(
            newlines_in_values=r.quoted, invalid_row_handler=invalid_row
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in r.header},
            check_utf8=False,  # the whole range was checked before
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return pa.Table.from_batches(list(reader), reader.schema)


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, kept by surrogateescape


def _python_records(
    data: bytes, header, unreadable: list, first_line: Callable[[], int] = lambda: 0
) -> Iterator[list[str]]:
    """Records one by one with the csv module: each readable one as its fields; the others go
    to `unreadable` with the record's text (bytes that are not UTF-8 shown as \\xNN), a record
    that an unterminated quote ran on among them. `first_line()`: the file's line number of the
    data's first line, asked only for such a record."""
    text = data.decode("utf-8", "surrogateescape")
    raw: list[str] = []
    lines_before = 0  # lines of the data before the current record

    def lines():
        for line in io.StringIO(text, newline=""):
            raw.append(line)
            yield line

    for fields in csv.reader(lines()):
        record = "".join(raw).rstrip("\r\n")
        spanned = len(raw)
        raw.clear()
        lines_before += spanned
        if spanned > MAX_RECORD_LINES:
            start = first_line() + lines_before - spanned
            unreadable.append((f"csv: {swallowed_lines(start, spanned)}", record))
            continue
        if not fields:  # a blank line is not a record
            continue
        bad = [i for i, value in enumerate(fields) if _NOT_UTF8.search(value)]
        if bad:
            where = repr(header[bad[0]]) if len(fields) == len(header) else f"field {bad[0] + 1}"
            shown = record.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            unreadable.append((f"csv: not UTF-8 text (column {where})", shown))
            continue
        problem = record_problem(len(fields), len(header), record)
        if problem:
            unreadable.append((problem, record))
            continue
        yield fields


def _array(chunked):
    import pyarrow as pa

    if chunked.num_chunks == 1:
        return chunked.chunk(0)
    return pa.concat_arrays(chunked.chunks) if chunked.num_chunks else pa.array([], chunked.type)


def _spans_many_lines(table, unreadable: list) -> bool:
    """Whether a record that pyarrow read (as a row or not) spans more than MAX_RECORD_LINES
    lines: a quote ran on, which the csv module's reading then names (line, lines)."""
    import pyarrow.compute as pc

    if any(text.count("\n") >= MAX_RECORD_LINES for _, text in unreadable):
        return True
    newlines = None
    for column in table.columns:
        found = pc.count_substring(column, "\n")
        newlines = found if newlines is None else pc.add(newlines, found)
    most = pc.max(newlines).as_py() if newlines is not None and table.num_rows else None
    return (most or 0) >= MAX_RECORD_LINES  # a row's fields hold its record's newlines


def _first_line(r: CsvRange) -> int:
    """The file's line number where the range starts (its lines before it, plus one)."""
    with FileSystems.open(r.path) as f:
        return f.read(r.start).count(b"\n") + 1


def read_range(r: CsvRange, batch_size: int = ELEMENT_ROWS) -> Iterator[RecordBatch]:
    """The records of one range, in RecordBatches of up to batch_size rows of string columns;
    each batch carries the unreadable records found since the one before."""
    data = _range_bytes(r)
    unreadable: list[tuple[str, str]] = []
    try:
        data.decode("utf-8")
        table = _pyarrow_table(data, r, unreadable)
        if r.quoted and _spans_many_lines(table, unreadable):
            raise ValueError("a quote ran on")
    except ValueError:  # UnicodeDecodeError, pyarrow's ArrowInvalid, a quote that ran on
        yield from _python_batches(data, r, batch_size)
        return
    for offset in range(0, max(table.num_rows, 1), batch_size):
        part = table.slice(offset, batch_size)
        columns = {name: _array(part.column(name)) for name in part.column_names}
        yield RecordBatch(columns, part.num_rows, unreadable if offset == 0 else [])


def _python_batches(data: bytes, r: CsvRange, batch_size: int) -> Iterator[RecordBatch]:
    unreadable: list[tuple[str, str]] = []
    rows: list[list[str]] = []

    def batch() -> RecordBatch:
        columns = {name: [row[i] for row in rows] for i, name in enumerate(r.header)}
        found = list(unreadable)
        unreadable.clear()
        return RecordBatch(columns, len(rows), found)

    for fields in _python_records(data, r.header, unreadable, lambda: _first_line(r)):
        rows.append(fields)
        if len(rows) == batch_size:
            yield batch()
            rows = []
    if rows or unreadable:
        yield batch()


class ReadCsv(beam.PTransform):
    """A CSV glob -> RecordBatches: find the ranges, spread them over workers, read each."""

    def __init__(
        self, pattern: str, batch_size: int = ELEMENT_ROWS, range_bytes: int = RANGE_BYTES
    ):
        super().__init__()
        self.pattern, self.batch_size, self.range_bytes = pattern, batch_size, range_bytes

    def expand(self, pbegin):
        return (
            pbegin
            | "Pattern" >> beam.Create([self.pattern])
            | "Ranges" >> beam.FlatMap(csv_ranges, self.range_bytes)
            | "Spread" >> beam.Reshuffle()
            | "ReadRange" >> beam.FlatMap(read_range, self.batch_size)
        )
