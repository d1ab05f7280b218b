"""Readers and writers of batch prediction: CSV, JSONL, TFRecord of tf.Example and BigQuery.

A source's `read` gives RecordBatches (babyweight/batch/batches.py): batches of records as
columns, never one element per record. CSV goes straight from files to columns with pyarrow
(babyweight/batch/csv_reader.py); JSONL, TFRecord and BigQuery records are batched by Beam and
parsed one by one (a slower path), each into a dict or `(the record as text, why not)`. Nothing is
dropped at reading time: a record that is not a row travels in its batch as a reason, and the
checking step decides the rest. Sinks write whole batches: dead-letter rows (lists of dicts) and
PredictionBatches, CSV predictions as one block of text per batch.

The BigQuery source and sink build their Beam I/O through `read=`/`write=` arguments (the stock
`ReadFromBigQuery`/`WriteToBigQuery` by default), so a test can put in-memory collections in
their place and check the rest of the pipeline without the service.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import re
from collections.abc import Callable

from babyweight import features as F
from babyweight.batch import csv_reader
from babyweight.batch.batches import PredictionBatch, RecordBatch

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

BQ_SCHEME = "bq://"
# project.dataset.table (or project:dataset.table); anything else after bq:// is a query.
BQ_TABLE = re.compile(r"^[\w-]+[.:]\w+\.[\w$-]+$")
FILE_FORMATS = ("csv", "jsonl", "tfrecord")
INPUT_SUFFIXES = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl",
    ".tfrecord": "tfrecord",
    ".tfrecords": "tfrecord",
    ".tfrecord.gz": "tfrecord",
    ".gz": "tfrecord",  # TFX ExampleGen writes data_tfrecord-*.gz
}
OUTPUT_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl"}

DEAD_LETTER_FIELDS = ["field", "value", "reason", "input"]


def is_bigquery(spec: str) -> bool:
    return spec.startswith(BQ_SCHEME)


def bigquery_table(spec: str) -> str | None:
    """`project:dataset.table` for `bq://project.dataset.table`, None for a query; ValueError
    (one line) for a table name that BigQuery would refuse, e.g. a one-letter project."""
    from apache_beam.io.gcp.bigquery_tools import parse_table_reference

    rest = spec[len(BQ_SCHEME) :].strip()
    if not BQ_TABLE.match(rest):
        return None
    project, _, dataset_table = rest.replace(":", ".", 1).partition(".")
    table = f"{project}:{dataset_table}"
    try:
        parse_table_reference(table)
    except ValueError:
        raise ValueError(
            f"{spec}: not a BigQuery table name; expected bq://project.dataset.table with a "
            "project ID of lower-case letters, digits and hyphens (e.g. bq://my-project.natality.births)"
        ) from None
    return table


def input_format(spec: str, given: str | None = None) -> str:
    """csv, jsonl, tfrecord or bigquery: from --input-format, the bq:// scheme or the suffix."""
    if is_bigquery(spec):
        return "bigquery"
    if given:
        return given
    name = spec.lower()
    for suffix in sorted(INPUT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return INPUT_SUFFIXES[suffix]
    raise ValueError(
        f"{spec}: cannot tell the format from the name; "
        f"pass --input-format ({', '.join(FILE_FORMATS)})"
    )


def output_format(spec: str, given: str | None = None) -> tuple[str, str]:
    """(format, prefix without suffix) of --output: bq://..., or a CSV/JSONL file prefix."""
    if is_bigquery(spec):
        if bigquery_table(spec) is None:
            raise ValueError(f"{spec}: expected bq://project.dataset.table")
        return "bigquery", spec
    for suffix, fmt in OUTPUT_SUFFIXES.items():
        if spec.lower().endswith(suffix):
            return given or fmt, spec[: -len(suffix)]
    return given or "csv", spec


# ---------------------------------------------------------------------------------------- read


def csv_header(pattern: str) -> list[str]:
    """Column names of the first file that the glob matches; CsvInputError (one line) when no
    file matches or it has no readable header."""
    return csv_reader.read_header(csv_reader.matching_files(pattern)[0])[0]


def parse_json_line(line: bytes | str):
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as e:
            return line.decode("utf-8", "backslashreplace"), f"json: not UTF-8 text ({e.reason})"
    try:
        row = json.loads(line)
    except ValueError as e:
        return line, f"json: {e}"
    if not isinstance(row, dict):
        return line, "json: expected an object per line"
    return row, None


def _feature_value(feature):
    kind = feature.WhichOneof("kind")
    values = list(getattr(feature, kind).value) if kind else []
    values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def parse_bigquery_row(row):
    return dict(row), None


def parse_example(record: bytes):
    from tensorflow.core.example import example_pb2  # the proto only, no TensorFlow runtime

    try:
        example = example_pb2.Example.FromString(record)
    except Exception as e:  # noqa: BLE001  (any decode error is a dead-letter reason)
        return repr(record[:200]), f"tfrecord: not a tf.Example ({type(e).__name__})"
    return {k: _feature_value(v) for k, v in example.features.feature.items()}, None


def parse_records(records: list, parse: Callable) -> RecordBatch:
    """A batch of records (JSON lines, tf.Examples, BigQuery rows) -> one RecordBatch, record by
    record: `parse` gives (a dict, None) or (the record as text, why it is not a row)."""
    rows, unreadable = [], []
    for record in records:
        raw, error = parse(record)
        if error:
            unreadable.append((error, raw))
        else:
            rows.append(raw)
    names = dict.fromkeys(name for row in rows for name in row)
    columns = {name: [row.get(name) for row in rows] for name in names}
    return RecordBatch(columns, len(rows), unreadable, records=rows)


class RecordBatches(beam.PTransform):
    """Records -> RecordBatches: batches of min..max records (Beam's BatchElements), each parsed
    by parse_records."""

    def __init__(self, parse: Callable, min_batch_size: int, max_batch_size: int):
        super().__init__()
        self.parse, self.min_size, self.max_size = parse, min_batch_size, max_batch_size

    def expand(self, records):
        return (
            records
            | "Batch" >> beam.BatchElements(self.min_size, self.max_size)
            | "Parse" >> beam.Map(parse_records, self.parse)
        )


@dataclasses.dataclass
class FileSource:
    """CSV (a glob; each file has a header), JSONL or TFRecord of tf.Example files."""

    pattern: str
    fmt: str

    @property
    def uri(self) -> str:
        return self.pattern

    def columns(self) -> list[str] | None:
        return csv_header(self.pattern) if self.fmt == "csv" else None

    def read(self, pipeline, *, min_batch_size: int, max_batch_size: int) -> beam.PCollection:
        """RecordBatches: CSV as columns straight from pyarrow, a batch per byte range
        (babyweight/batch/csv_reader.py); JSONL lines (as bytes: a line that is not UTF-8 is a
        dead-letter row) and tf.Examples batched by Beam (min..max records), then parsed record
        by record (a slower path)."""
        if self.fmt == "csv":
            return pipeline | "ReadCsv" >> csv_reader.ReadCsv(self.pattern)
        if self.fmt == "jsonl":
            records = pipeline | "ReadJsonl" >> beam.io.ReadFromText(
                self.pattern, coder=beam.coders.BytesCoder()
            )
            parse = parse_json_line
        else:
            records = pipeline | "ReadTFRecord" >> beam.io.ReadFromTFRecord(self.pattern)
            parse = parse_example
        return records | "Records" >> RecordBatches(parse, min_batch_size, max_batch_size)


@dataclasses.dataclass
class BigQuerySource:
    """A table (`bq://project.dataset.table`) or a standard-SQL query (`bq://SELECT ...`).

    `read` builds the Beam transform from keyword arguments; it is `beam.io.ReadFromBigQuery`
    unless a test passes an in-memory stand-in.
    """

    spec: str
    read_transform: Callable[..., beam.PTransform] = beam.io.ReadFromBigQuery

    @property
    def uri(self) -> str:
        return self.spec

    def columns(self) -> list[str] | None:
        return None

    def read_kwargs(self) -> dict:
        table = bigquery_table(self.spec)
        if table:
            return {"table": table}
        return {"query": self.spec[len(BQ_SCHEME) :].strip(), "use_standard_sql": True}

    def read(self, pipeline, *, min_batch_size: int, max_batch_size: int) -> beam.PCollection:
        rows = pipeline | "ReadBigQuery" >> self.read_transform(**self.read_kwargs())
        return rows | "Records" >> RecordBatches(parse_bigquery_row, min_batch_size, max_batch_size)


def make_source(spec: str, fmt: str | None = None, **bigquery_kwargs):
    """The source of --input; ValueError (one line, without the flag) when it cannot be one."""
    fmt = input_format(spec, fmt)
    if fmt == "bigquery":
        bigquery_table(spec)  # a table name BigQuery would refuse fails here, not in the job
        return BigQuerySource(spec, **bigquery_kwargs)
    return FileSource(spec, fmt)


# --------------------------------------------------------------------------------------- write


def prediction_columns(key_column: str | None) -> list[str]:
    return ([key_column] if key_column else []) + [*F.FEATURE_KEYS, F.PREDICTION_KEY]


def dead_letter_columns(key_column: str | None) -> list[str]:
    return ([key_column] if key_column else []) + DEAD_LETTER_FIELDS


def csv_line(row: dict, columns: list[str]) -> str:
    values = ["" if row[c] is None else str(row[c]) for c in columns]
    if any(("," in v or '"' in v or "\n" in v or "\r" in v) for v in values):
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(values)
        return out.getvalue()
    return ",".join(values)  # the common case, without a csv.writer per row


def bigquery_schema(columns: list[str]) -> dict:
    """Feature columns typed as the table says (as serving_default takes them), the
    prediction as FLOAT; the key and the rest as STRING."""
    types = {f.name: f.bigquery_type for f in F.FEATURES}
    types[F.PREDICTION_KEY] = F.LABEL.bigquery_type
    return {
        "fields": [{"name": c, "type": types.get(c, "STRING"), "mode": "NULLABLE"} for c in columns]
    }


def batch_rows(batch) -> list[dict]:
    """A batch to write, a list of dead-letter rows or a PredictionBatch, as row dicts."""
    return batch if isinstance(batch, list) else batch.rows()


def batch_text(batch, columns: list[str], fmt: str) -> str:
    """A batch as lines of CSV or JSON; prediction batches to CSV in one go (vectorised)."""
    if fmt == "csv" and isinstance(batch, PredictionBatch):
        text = batch.csv_text()
        if text is not None:
            return text
    rows = batch_rows(batch)
    if fmt == "csv":
        return "\n".join(csv_line(row, columns) for row in rows)
    return "\n".join(json.dumps({c: row[c] for c in columns}) for row in rows)


SHARDS = "-?????-of-?????"  # WriteToText's shard names: <prefix>-00000-of-00002.csv
STAGING = ".staging"  # the hidden directory beside a prefix where a job writes (FileSink)
STAGED_SUFFIX = ".partial"  # after .csv or .jsonl, until the job has finished


@dataclasses.dataclass
class FileSink:
    """Sharded CSV (with a header per shard) or JSONL files under a prefix.

    The job writes in a hidden staging directory beside the prefix (`DIR/.staging/NAME/`, shards
    named `*.csv.partial`, Beam's temp files under it): no reader of the outputs (a glob, a
    recursive `*.csv`) sees a half-written file. When the job has finished, `commit` moves the
    shards into place, then writes the counts file LAST: the counts file is the commit marker,
    and outputs without it are not whole. A killed run leaves only its staging directory, which
    the next run on the prefix removes (`prepare`)."""

    prefix: str
    fmt: str

    @property
    def uri(self) -> str:
        return self.prefix

    @property
    def dead_letter_uri(self) -> str:
        return f"{self.prefix}-dead_letter"

    def suffix(self) -> str:
        return f".{self.fmt}"

    def earlier_outputs(self, counts_path: str) -> list[str]:
        """Files of an earlier run under this prefix (either format): the shards of its
        predictions and dead-letter rows, and its counts file. A new run writes other shard
        names (another -of-N), so these would stay beside its own."""
        patterns = [
            f"{prefix}{SHARDS}{suffix}"
            for prefix in (self.prefix, self.dead_letter_uri)
            for suffix in OUTPUT_SUFFIXES
        ]
        found = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
        if FileSystems.exists(counts_path):
            found.append(counts_path)
        return sorted(found)

    def temp_dirs(self) -> set[str]:
        """WriteToText's `beam-temp-<name>-<uuid>` directories beside the outputs (where runs
        before the staging directory left them when killed)."""
        directory, name = FileSystems.split(self.prefix)
        pattern = FileSystems.join(directory or ".", f"beam-temp-{name}*", "*")  # dirs: by files
        return {_dir(FileSystems.split(m.path)[0]) for m in _matches(pattern)}

    @property
    def staging_dir(self) -> str:
        directory, name = FileSystems.split(self.prefix)
        return FileSystems.join(directory or ".", STAGING, name)

    def staged(self, path: str) -> str:
        """Where the job writes what ends at `path`."""
        return FileSystems.join(self.staging_dir, FileSystems.split(path)[1])

    def leftovers(self) -> list[str]:
        """What a run on this prefix that did not finish (killed) left: its staging directory,
        and Beam's temp directories beside the prefix."""
        found = [_dir(self.staging_dir)] if _dir_exists(self.staging_dir) else []
        return found + sorted(self.temp_dirs())

    def prepare(self) -> list[str]:
        """Before a job: remove what a killed run left, make the staging directory (so an
        unwritable place fails here, as an OSError, not in the job); the paths removed."""
        removed = self.leftovers()
        if removed:
            FileSystems.delete(removed)
        if "://" in self.staging_dir:
            FileSystems.mkdirs(self.staging_dir)
        else:  # os's own error (errno, strerror), for a one-line message
            os.makedirs(self.staging_dir)
        return removed

    def commit(self, staged_counts: str, counts_path: str) -> None:
        """After the job: the shards from the staging directory into place, then the counts
        file, last, as the commit marker; then the staging directory goes."""
        patterns = [
            f"{self.staged(prefix)}{SHARDS}{self.suffix()}{STAGED_SUFFIX}"
            for prefix in (self.prefix, self.dead_letter_uri)
        ]
        staged = sorted(m.path for r in FileSystems.match(patterns) for m in r.metadata_list)
        directory = FileSystems.split(self.prefix)[0] or "."
        names = [FileSystems.split(p)[1].removesuffix(STAGED_SUFFIX) for p in staged]
        FileSystems.rename(staged, [FileSystems.join(directory, name) for name in names])
        with FileSystems.open(staged_counts) as f:
            publish(f.read(), counts_path)
        self.discard()

    def discard(self) -> None:
        """The staging directory removed (after a commit, or a job that failed)."""
        if _dir_exists(self.staging_dir):
            FileSystems.delete([_dir(self.staging_dir)])
        if "://" not in self.staging_dir:
            with contextlib.suppress(OSError):  # .staging itself, when no other prefix uses it
                os.rmdir(os.path.dirname(self.staging_dir))

    def write(self, batches, columns: list[str], *, dead_letter: bool = False, label: str = ""):
        """Each batch (of dead-letter rows, or a PredictionBatch) becomes a block of lines, in
        shards in the staging directory (commit moves them into place)."""
        prefix = self.staged(self.dead_letter_uri if dead_letter else self.prefix)
        fmt = self.fmt
        text = batches | f"{label}To{fmt.capitalize()}" >> beam.Map(batch_text, columns, fmt)
        header = ",".join(columns) if fmt == "csv" else None
        return text | f"{label}Write" >> beam.io.WriteToText(
            prefix, file_name_suffix=self.suffix() + STAGED_SUFFIX, header=header
        )


def _matches(pattern: str) -> list:
    return FileSystems.match([pattern])[0].metadata_list


def _dir(path: str) -> str:
    """A directory as FileSystems.delete takes it: with a trailing / on object stores."""
    return path.rstrip("/") + "/" if "://" in path else path


def _dir_exists(path: str) -> bool:
    """A local directory, or a prefix that holds objects on a store such as GCS."""
    if "://" not in path:
        return os.path.isdir(path)
    return bool(_matches(f"{path.rstrip('/')}/**"))


def publish(data: bytes, path: str) -> None:
    """`path` written whole or not at all: a hidden file beside it, renamed to it."""
    directory, name = FileSystems.split(path)
    tmp = FileSystems.join(directory or ".", f".{name}.tmp")
    with FileSystems.create(tmp) as f:
        f.write(data)
    FileSystems.rename([tmp], [path])


@dataclasses.dataclass
class BigQuerySink:
    """A table, `bq://project.dataset.table`; dead-letter rows go to `<table>_dead_letter`.
    Rows are appended, or replace the tables' rows with `overwrite` (WRITE_TRUNCATE).

    `write_transform` is `beam.io.WriteToBigQuery` unless a test passes an in-memory stand-in.
    """

    spec: str
    write_transform: Callable[..., beam.PTransform] = beam.io.WriteToBigQuery
    overwrite: bool = False

    @property
    def uri(self) -> str:
        return self.spec

    @property
    def dead_letter_uri(self) -> str:
        return f"{self.spec}_dead_letter"

    def write(self, batches, columns: list[str], *, dead_letter: bool = False, label: str = ""):
        table = bigquery_table(self.dead_letter_uri if dead_letter else self.spec)
        schema = bigquery_schema(columns)
        strings = {f["name"] for f in schema["fields"] if f["type"] == "STRING"}
        rows = batches | f"{label}Unbatch" >> beam.FlatMap(batch_rows)
        rows = rows | f"{label}ToBigQueryRow" >> beam.Map(
            lambda row: {
                c: str(row[c]) if c in strings and row[c] is not None else row[c] for c in columns
            }
        )
        disposition = beam.io.BigQueryDisposition
        return rows | f"{label}WriteBigQuery" >> self.write_transform(
            table=table,
            schema=schema,
            create_disposition=disposition.CREATE_IF_NEEDED,
            write_disposition=disposition.WRITE_TRUNCATE
            if self.overwrite
            else disposition.WRITE_APPEND,
        )


def make_sink(spec: str, fmt: str | None = None, **bigquery_kwargs):
    """The sink of --predictions; ValueError (one line, without the flag) as make_source."""
    fmt, prefix = output_format(spec, fmt)
    if fmt == "bigquery":
        return BigQuerySink(spec, **bigquery_kwargs)
    return FileSink(prefix, fmt)


def read_text_shards(prefix: str, suffix: str) -> list[str]:
    """Every line of the shards `<prefix>-SSSSS-of-NNNNN<suffix>` that WriteToText made."""
    matches = FileSystems.match([f"{prefix}-?????-of-?????{suffix}"])[0].metadata_list
    lines = []
    for path in sorted(m.path for m in matches):
        with FileSystems.open(path) as f:
            lines += f.read().decode("utf-8").splitlines()
    return lines
