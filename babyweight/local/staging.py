"""Stage CSV input for CsvExampleGen: the local twin of the course's BigQuery query.

Each file's input format is told from its header (input_formats.py: BigQuery's samples.natality
names or the CDC public-use names) and its rows are turned into the five model columns, read
through babyweight/values.py. Rows whose label or numeric features are missing or not positive
are dropped (as the query's WHERE does), and so are lines that are not UTF-8; each dropped row is
written with its file, line and reason to `dropped.csv`, so nothing is lost silently. A value the
rules cannot read (a word in gestation_weeks, plurality 9) goes through as written, so that
ExampleValidator stops the run on it by name.

The split key (splits.py) is chosen once all rows are read, and the rows per split are
known here, before ExampleGen runs. A run stages one span (spans.py; span 0 for a --data
without spans) into its own directory, OUTPUT/staged/examples/span-N/, which CsvExampleGen reads
through TFX's span pattern; each span gets its own split key, checks and counts, so the hash
splits of a span never change when other spans arrive.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import dataclasses
import filecmp
import gzip
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from babyweight import csv_records
from babyweight import features as F
from babyweight import mapping as M
from babyweight.errors import ExitCode, UsageError
from babyweight.layout import OutputLayout
from babyweight.local import file_kinds, input_formats, plausibility
from babyweight.local.splits import ROW, YEAR_MONTH, KeyCounter, SplitChoice, fingerprint

from pipeline import configs

STAGED_COLUMNS = [*F.REQUIRED_COLUMNS, F.SPLIT_KEY]
NOT_UTF8 = "not UTF-8"
INPUT_PATTERNS = ("*.csv", "*.csv.gz", "*.parquet", "*.avro")
_UTF8_BOM = "\ufeff"


class StagingError(UsageError, ValueError):
    """The input cannot be staged: no such file, an empty file, a header that is not UTF-8."""


class NoUsableRows(StagingError):
    """Every row was dropped (the message counts the reasons)."""

    code = ExitCode.UNUSABLE_DATA


@dataclasses.dataclass
class StageReport:
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)
    files: list[str] = dataclasses.field(default_factory=list)
    input_formats: dict[str, str] = dataclasses.field(default_factory=dict)  # file -> format
    mapping: dict[str, str] = dataclasses.field(default_factory=dict)  # --mapping: file, TOML
    split_key: str = ""  # splits.YEAR_MONTH or splits.ROW
    split_key_reason: str = ""
    split_counts: dict[str, int] = dataclasses.field(default_factory=dict)  # as ExampleGen will
    span: int = 0
    data_root: str = ""  # what CsvExampleGen reads: a directory of span directories
    examples_dir: str = ""  # this span's directory in it, holding data.csv
    dropped_file: str = ""

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def split_fractions(self) -> dict[str, float]:
        return SplitChoice(self.split_key, self.split_key_reason, self.split_counts).fractions


def input_files(data: Path) -> list[Path]:
    """The files behind --data: the file itself, or every *.csv, *.csv.gz, *.parquet and *.avro
    below a directory."""
    if data.is_dir():
        files = sorted(p for pattern in INPUT_PATTERNS for p in data.rglob(pattern) if p.is_file())
        if not files:
            raise StagingError(
                f"--data {data}: the directory holds no {', '.join(INPUT_PATTERNS)} file"
            )
        return files
    if not data.is_file():
        raise StagingError(f"--data {data}: no such file or directory")
    return [data]


def input_format(header: list[str], where: str, mapping: M.Mapping | None):
    """The file's input format: the user's mapping, checked against the header, or the
    built-in one the header matches."""
    if mapping is not None:
        return input_formats.with_mapping(header, where, mapping)
    return input_formats.detect(header, where)


def check_headers(data: Path, mapping: M.Mapping | None = None) -> dict[str, str]:
    """Each input file's input format, from its header alone (a cheap check before a run
    starts); StagingError, InputFormatError or MappingError naming the file otherwise."""
    found = {}
    for path in input_files(data):
        with _file_errors(path):
            kind = file_kinds.kind(path)
            if kind in (file_kinds.PARQUET, file_kinds.AVRO):
                found[str(path)] = _table_rows(path, kind, mapping)[0].name
                continue
            header = next(csv.reader(decoded_lines(path, [], kind)), None)
        if header is None:
            raise StagingError(f"{path}: the file is empty")
        found[str(path)] = input_format(header, str(path), mapping).name
    return found


def drop_reason(values: dict[str, str]) -> str | None:
    """Why the course's query would not keep this row (model columns, staged), or None."""
    for column in F.POSITIVE_COLUMNS:
        value = values[column]
        if not value:
            return f"{column} missing"
        try:
            number = float(value)
        except ValueError:
            continue  # not a number: ExampleValidator reports it by name
        if not number > 0:
            return f"{column} not positive"
    return None


def row_key(values: list[str]) -> int:
    """The fingerprint of a row's model columns: the same row, the same split, in any file."""
    return fingerprint("|".join(values))


def decoded_lines(
    path: Path, undecodable: list[tuple[int, bytes]], found: str = file_kinds.CSV
) -> Iterator[str]:
    """The file's lines as text. A line that is not UTF-8 is skipped and appended, with its
    number, to `undecodable`; a BOM before the header is dropped."""
    with file_kinds.open_binary(path, found) as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                if number == 1:
                    raise StagingError(f"{path}: the header line is not UTF-8") from None
                undecodable.append((number, raw))
                continue
            yield text.removeprefix(_UTF8_BOM) if number == 1 else text


class _Writer:
    """The temporary staged and dropped files, written while the input streams by."""

    def __init__(self, layout: OutputLayout, span: int):
        layout.staged_span(span).mkdir(parents=True, exist_ok=True)
        self.rows_tmp = layout.staged / ".rows.csv.tmp"  # model columns + both candidate keys
        self.dropped_tmp = layout.staged / ".dropped.csv.tmp"
        self._rows_f = open(self.rows_tmp, "w", newline="")
        self._drop_f = open(self.dropped_tmp, "w", newline="")
        self.rows = csv.writer(self._rows_f, lineterminator="\n")
        self.dropped = csv.writer(self._drop_f, lineterminator="\n")
        self.dropped.writerow(["file", "line", "reason", *F.REQUIRED_COLUMNS])

    def close(self) -> None:
        self._rows_f.close()
        self._drop_f.close()


@dataclasses.dataclass
class _Staging:
    """What one staging pass writes and counts, shared by every file it reads."""

    writer: _Writer
    report: StageReport
    dropped: collections.Counter
    keys: KeyCounter
    mapping: M.Mapping | None
    seen: plausibility.Seen

    def row(self, path, line: int, form, raw: dict, reason: str | None = None) -> None:
        """One record: kept with its keys, or dropped with its reason."""
        self.report.rows_read += 1
        values = form.model_row(raw, self.seen.unknown)
        reason = reason or drop_reason(dict(zip(F.REQUIRED_COLUMNS, values, strict=True)))
        if reason:
            self.dropped[reason] += 1
            self.writer.dropped.writerow([str(path), line, reason, *values])
            return
        self.seen.add(form, values)
        key = row_key(values)
        year_month = form.year_month_of(raw)
        self.keys.add(key, year_month)
        self.writer.rows.writerow([*values, key, fingerprint(year_month) if year_month else ""])
        self.report.rows_kept += 1


def _stage_csv_file(path, found: str, run: _Staging) -> None:
    undecodable: list[tuple[int, bytes]] = []
    reader = csv.reader(decoded_lines(path, undecodable, found))
    header = next(reader, None)
    if header is None:
        raise StagingError(f"{path}: the file is empty")
    form = input_format(header, str(path), run.mapping)
    run.report.input_formats[str(path)] = form.name
    names = input_formats.header_names(header)
    end = reader.line_num
    for cells in reader:
        start, end = end + 1, reader.line_num  # the record's physical lines
        if not cells:
            continue  # a blank line
        line = reader.line_num + len(undecodable)
        reason = csv_records.swallowed_lines(start + len(undecodable), end - start + 1)
        if reason:
            line = start + len(undecodable)
        run.row(path, line, form, dict(zip(names, cells, strict=False)), reason)
    for number, raw_line in undecodable:  # shown with U+FFFD for the bad bytes
        cells = next(csv.reader([raw_line.decode("utf-8", errors="replace")]), [])
        run.row(path, number, form, dict(zip(names, cells, strict=False)), NOT_UTF8)


def _table_rows(path: Path, found: str, mapping: M.Mapping | None):
    """(input format, header, rows) of a Parquet or Avro file, its columns checked first."""
    forms = []

    def columns_of(header):
        forms.append(input_format(header, str(path), mapping))
        return forms[0].columns

    read = file_kinds.parquet_rows if found == file_kinds.PARQUET else file_kinds.avro_rows
    header, rows = read(path, columns_of)
    return forms[0], header, rows


def _stage_file(path, run: _Staging) -> None:
    """Stage one file of any kind (file_kinds); StagingError naming it when it cannot be read."""
    with _file_errors(path):
        found = file_kinds.kind(path)
        if found in (file_kinds.CSV, file_kinds.CSV_GZ):
            return _stage_csv_file(path, found, run)
        form, header, rows = _table_rows(path, found, run.mapping)
        run.report.input_formats[str(path)] = form.name
        names = input_formats.header_names(header)
        for number, cells in enumerate(rows, start=1):
            run.row(path, number, form, dict(zip(names, cells, strict=True)))
    return None


@contextlib.contextmanager
def _file_errors(path: Path):
    """A file of no known kind, or a truncated gzip, as one StagingError line naming the file."""
    try:
        yield
    except file_kinds.FileKindError as e:
        raise StagingError(str(e)) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise StagingError(
            f"{path}: a truncated or corrupt gzip file ({' '.join(str(e).split())})"
        ) from None


def _replace_if_changed(tmp: Path, dest: Path) -> None:
    """Keep the old file (and its mtime) when the content is the same, so that ExampleGen's
    input fingerprint, and with it the whole cached pipeline, stays valid on a rerun."""
    if dest.exists() and filecmp.cmp(tmp, dest, shallow=False):
        tmp.unlink()
    else:
        os.replace(tmp, dest)


def _write_examples(rows_tmp: Path, dest: Path, key_kind: str) -> None:
    """data.csv: the model columns and the chosen key, from the temporary rows file."""
    tmp = dest.with_name(".data.csv.tmp")
    with open(rows_tmp, newline="") as src, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STAGED_COLUMNS)
        for *values, row, year_month in csv.reader(src):
            writer.writerow([*values, year_month if key_kind == YEAR_MONTH else row])
    rows_tmp.unlink()
    _replace_if_changed(tmp, dest)


def stage_csv(
    data: Path,
    layout: OutputLayout,
    span: int = 0,
    buckets: dict[str, int] | None = None,
    min_year_months: int = configs.YEAR_MONTH_MIN_KEYS,
    tolerance: float = configs.SPLIT_TOLERANCE,
    mapping: M.Mapping | None = None,
) -> StageReport:
    """Write the staged examples of `span` (staged/examples/span-N/data.csv) and the dropped
    rows; return the counts.

    Raises StagingError naming the file (and the columns expected) when the input cannot be
    read, and when no row is usable."""
    buckets = dict(buckets or configs.SPLIT_BUCKETS)
    files = input_files(data)
    layout.stage_report.unlink(missing_ok=True)  # an earlier run's counts are not this run's
    report = StageReport(
        span=span,
        data_root=str(layout.staged_examples),
        examples_dir=str(layout.staged_span(span)),
        dropped_file=str(layout.dropped_rows),
        mapping={"file": mapping.source, "toml": mapping.text} if mapping else {},
    )
    dropped = collections.Counter()
    keys = KeyCounter(buckets)
    writer = _Writer(layout, span)
    run = _Staging(writer, report, dropped, keys, mapping, plausibility.Seen())
    try:
        for path in files:
            report.files.append(str(path))
            _stage_file(path, run)
        run.seen.check(mapping, str(data))
    except BaseException:
        writer.close()
        for tmp in (writer.rows_tmp, writer.dropped_tmp):
            tmp.unlink(missing_ok=True)
        raise
    writer.close()
    report.dropped = dict(sorted(dropped.items()))
    if report.rows_kept == 0:
        _replace_if_changed(writer.dropped_tmp, layout.dropped_rows)
        writer.rows_tmp.unlink()
        why = ", ".join(f"{k}: {v}" for k, v in report.dropped.items()) or "the files are empty"
        raise NoUsableRows(f"--data {data}: no usable row ({why})")
    choice = keys.choose(min_year_months, tolerance)
    report.split_key, report.split_key_reason = choice.key, choice.reason
    report.split_counts = choice.counts
    _write_examples(writer.rows_tmp, layout.staged_span(span) / "data.csv", choice.key)
    _replace_if_changed(writer.dropped_tmp, layout.dropped_rows)
    layout.stage_report.write_text(json.dumps(dataclasses.asdict(report), indent=2))
    return report


def describe(report: StageReport, data: Path) -> list[str]:
    """The lines the runner prints about staging: input formats, rows, drops, the split key."""
    by_format = collections.defaultdict(list)
    for path, name in report.input_formats.items():
        by_format[name].append(Path(path).name)
    descriptions = {f.name: f.description for f in input_formats.INPUT_FORMATS}
    if report.mapping:
        mapping = M.parse(M.tomllib.loads(report.mapping["toml"]), report.mapping["file"])
        descriptions[mapping.name] = f"mapping {mapping.source}: {M.summary(mapping)}"
    lines = [
        f"read {', '.join(files[:3])}{' ...' if len(files) > 3 else ''} "
        f"({len(files)} file{'s' * (len(files) > 1)}) as {descriptions[name]}"
        for name, files in by_format.items()
    ]
    why = ", ".join(f"{k}: {v}" for k, v in report.dropped.items()) or "none"
    lines.append(
        f"staged {report.rows_kept} of {report.rows_read} rows from {data} "
        f"({report.rows_dropped} dropped: {why})"
    )
    key = {YEAR_MONTH: "the year-month (course)", ROW: "a fingerprint of the row"}
    shares = ", ".join(f"{s}={f:.1%}" for s, f in report.split_fractions.items())
    lines.append(f"split key: {key[report.split_key]} ({report.split_key_reason}); {shares}")
    return lines
