"""Readers and writers of batch prediction: CSV, JSONL, TFRecord of tf.Example and BigQuery.

A source reads records (text lines, serialized tf.Examples, BigQuery rows) and has a `parser`
that turns one record into `(raw_row, error)`: a dict of column values and None, or the record
as text and why it could not be parsed. The job parses whole batches of records at once, so
after reading, Beam moves batches rather than rows. Nothing is dropped at reading time; the
validation step decides, and failures go to the dead-letter output. Sinks likewise write
batches of rows (lists of dicts).

The BigQuery source and sink build their Beam I/O through `read=`/`write=` arguments (the stock
`ReadFromBigQuery`/`WriteToBigQuery` by default), so a test can put in-memory collections in
their place and check the rest of the pipeline without the service.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import re
from collections.abc import Callable

from babyweight import features as F

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
    """`project:dataset.table` for `bq://project.dataset.table`, None for a query."""
    rest = spec[len(BQ_SCHEME) :].strip()
    if not BQ_TABLE.match(rest):
        return None
    project, _, dataset_table = rest.replace(":", ".", 1).partition(".")
    return f"{project}:{dataset_table}"


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
        f"--input {spec!r}: cannot tell the format from the name; "
        f"pass --input-format ({', '.join(FILE_FORMATS)})"
    )


def output_format(spec: str, given: str | None = None) -> tuple[str, str]:
    """(format, prefix without suffix) of --output: bq://..., or a CSV/JSONL file prefix."""
    if is_bigquery(spec):
        if bigquery_table(spec) is None:
            raise ValueError(f"--output {spec!r}: expected bq://project.dataset.table")
        return "bigquery", spec
    for suffix, fmt in OUTPUT_SUFFIXES.items():
        if spec.lower().endswith(suffix):
            return given or fmt, spec[: -len(suffix)]
    return given or "csv", spec


# ---------------------------------------------------------------------------------------- read


def csv_header(pattern: str) -> list[str]:
    """Column names from the first line of the first file that the glob matches."""
    matches = FileSystems.match([pattern])[0].metadata_list
    if not matches:
        raise FileNotFoundError(f"--input {pattern!r}: no file matches")
    first = sorted(m.path for m in matches)[0]
    with FileSystems.open(first) as f:
        line = f.readline().decode("utf-8").rstrip("\r\n")
    return next(csv.reader([line]))


def parse_csv_line(line: str, header: list[str]):
    if not line.strip():
        return line, "csv: empty line"
    values = next(csv.reader([line]))
    if len(values) != len(header):
        return line, f"csv: expected {len(header)} fields, got {len(values)}"
    return dict(zip(header, values, strict=True)), None


def parse_json_line(line: str):
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

    def read(self, pipeline) -> beam.PCollection:
        """The records: text lines (CSV without headers, JSONL) or serialized tf.Examples."""
        if self.fmt == "csv":
            return pipeline | "ReadCsv" >> beam.io.ReadFromText(self.pattern, skip_header_lines=1)
        if self.fmt == "jsonl":
            return pipeline | "ReadJsonl" >> beam.io.ReadFromText(self.pattern)
        return pipeline | "ReadTFRecord" >> beam.io.ReadFromTFRecord(self.pattern)

    def parser(self) -> Callable:
        """record -> (raw_row, error); picklable, built at construction time."""
        if self.fmt == "csv":
            return functools.partial(parse_csv_line, header=csv_header(self.pattern))
        return parse_json_line if self.fmt == "jsonl" else parse_example


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

    def read(self, pipeline) -> beam.PCollection:
        return pipeline | "ReadBigQuery" >> self.read_transform(**self.read_kwargs())

    def parser(self) -> Callable:
        return parse_bigquery_row


def make_source(spec: str, fmt: str | None = None, **bigquery_kwargs):
    fmt = input_format(spec, fmt)
    if fmt == "bigquery":
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
    """Feature columns typed as serving_default takes them; the key and the rest as STRING."""
    types = {
        F.IS_MALE: "STRING",
        F.MOTHER_AGE: "INTEGER",
        F.PLURALITY: "STRING",
        F.GESTATION_WEEKS: "INTEGER",
        F.PREDICTION_KEY: "FLOAT",
    }
    return {
        "fields": [{"name": c, "type": types.get(c, "STRING"), "mode": "NULLABLE"} for c in columns]
    }


@dataclasses.dataclass
class FileSink:
    """Sharded CSV (with a header per shard) or JSONL files under a prefix."""

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

    def write(self, batches, columns: list[str], *, dead_letter: bool = False, label: str = ""):
        """Each non-empty batch of rows becomes one block of lines in a shard."""
        prefix = self.dead_letter_uri if dead_letter else self.prefix
        if self.fmt == "csv":
            text = batches | f"{label}ToCsv" >> beam.Map(
                lambda rows: "\n".join(csv_line(row, columns) for row in rows)
            )
            header = ",".join(columns)
        else:
            text = batches | f"{label}ToJson" >> beam.Map(
                lambda rows: "\n".join(json.dumps({c: row[c] for c in columns}) for row in rows)
            )
            header = None
        return text | f"{label}Write" >> beam.io.WriteToText(
            prefix, file_name_suffix=self.suffix(), header=header
        )


@dataclasses.dataclass
class BigQuerySink:
    """A table, `bq://project.dataset.table`; dead-letter rows go to `<table>_dead_letter`.

    `write_transform` is `beam.io.WriteToBigQuery` unless a test passes an in-memory stand-in.
    """

    spec: str
    write_transform: Callable[..., beam.PTransform] = beam.io.WriteToBigQuery

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
        rows = batches | f"{label}Unbatch" >> beam.FlatMap(lambda rows: rows)
        rows = rows | f"{label}ToBigQueryRow" >> beam.Map(
            lambda row: {
                c: str(row[c]) if c in strings and row[c] is not None else row[c] for c in columns
            }
        )
        return rows | f"{label}WriteBigQuery" >> self.write_transform(
            table=table,
            schema=schema,
            create_disposition=beam.io.BigQueryDisposition.CREATE_IF_NEEDED,
            write_disposition=beam.io.BigQueryDisposition.WRITE_APPEND,
        )


def make_sink(spec: str, fmt: str | None = None, **bigquery_kwargs):
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
