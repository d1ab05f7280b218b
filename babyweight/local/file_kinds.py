"""The file kinds staging reads besides plain CSV: gzip'd CSV, Parquet and Avro (BigQuery's
export formats), told apart by their first bytes (and, for an empty file, the name).

A Parquet or Avro file is read in record batches (pyarrow; fastavro when installed), so memory
stays flat; each record becomes the text cells a CSV row would have: BOOL as True/False, INT64
as digits, FLOAT64 as Python's shortest repr (the same text BigQuery's CSV export writes), NULL
as "". A mapped column of a type that cannot hold the feature (a STRING weight, a FLOAT sex) is
refused by name before any row is read; so is a file whose footer or schema cannot be read.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from babyweight import features as F
from babyweight.errors import UsageError

CSV, CSV_GZ, PARQUET, AVRO = "csv", "csv.gz", "parquet", "avro"
SUFFIXES = {".csv": CSV, ".gz": CSV_GZ, ".parquet": PARQUET, ".avro": AVRO}
_MAGIC = {b"\x1f\x8b": CSV_GZ, b"PAR1": PARQUET, b"Obj\x01": AVRO}
BATCH_ROWS = 65_536


class FileKindError(UsageError, ValueError):
    """A file of a known kind that cannot be read: corrupt, truncated, a wrong column type."""


def _one_line(error: Exception) -> str:
    """A library's message (Arrow's span lines) as one line."""
    return " ".join(str(error).split())


def kind(path: Path) -> str:
    """CSV, CSV_GZ, PARQUET or AVRO, by the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(4)
    for magic, found in _MAGIC.items():
        if head.startswith(magic):
            return found
    return CSV


def open_binary(path: Path, found: str):
    """The file's bytes, decompressed for a gzip'd CSV."""
    return gzip.open(path, "rb") if found == CSV_GZ else open(path, "rb")


def _numeric_type(t) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t)


def _fits(model: str, t) -> bool:
    """Whether a column of Arrow type `t` can hold the model column `model`."""
    import pyarrow as pa

    if F.feature(model).categorical:
        return (
            pa.types.is_boolean(t)
            or pa.types.is_string(t)
            or pa.types.is_integer(t)
            or (pa.types.is_null(t) or pa.types.is_large_string(t))
        )
    return _numeric_type(t)


def check_types(path: Path, schema, columns: dict[str, str]) -> None:
    """FileKindError for the first mapped column whose type cannot hold its feature."""
    names = {n.lower(): n for n in schema.names}
    for model, column in columns.items():
        if column in names:
            t = schema.field(names[column]).type
            if not _fits(model, t):
                need = (
                    "a string, boolean or integer" if F.feature(model).categorical else "a number"
                )
                raise FileKindError(
                    f"{path}: column {column!r} ({model}) is of type {t}; it must be {need}"
                )


def text(value) -> str:
    """A cell as a CSV export writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _batches_as_rows(batches) -> Iterator[list[str]]:
    for batch in batches:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True):
            yield [text(v) for v in row]


def parquet_rows(path: Path, columns_of) -> tuple[list[str], Iterator[list[str]]]:
    """(header, rows of text cells) of a Parquet file; `columns_of(header)` gives the model
    column -> file column map whose types are checked first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise FileKindError(f"{path}: not a readable Parquet file ({_one_line(e)})") from None
    schema = parquet.schema_arrow
    header = list(schema.names)
    check_types(path, schema, columns_of(header))

    def rows():
        try:
            yield from _batches_as_rows(parquet.iter_batches(batch_size=BATCH_ROWS))
        except (pa.ArrowException, OSError) as e:
            raise FileKindError(
                f"{path}: a Parquet row group cannot be read ({_one_line(e)})"
            ) from None

    return header, rows()


def avro_rows(path: Path, columns_of) -> tuple[list[str], Iterator[list[str]]]:
    """(header, rows of text cells) of an Avro file (fastavro), its schema checked first."""
    try:
        import fastavro
    except ModuleNotFoundError:
        raise FileKindError(f"{path}: Avro input needs fastavro (pip install fastavro)") from None
    f = open(path, "rb")  # noqa: SIM115  (closed when the rows are read)
    try:
        reader = fastavro.reader(f)
    except Exception as e:  # noqa: BLE001  (fastavro raises plain ValueError and its own kinds)
        f.close()
        raise FileKindError(f"{path}: not a readable Avro file ({_one_line(e)})") from None
    header = [field["name"] for field in reader.writer_schema.get("fields", [])]
    columns_of(header)

    def rows():
        try:
            for record in reader:
                yield [text(record.get(name)) for name in header]
        except (EOFError, ValueError) as e:
            raise FileKindError(f"{path}: an Avro block cannot be read ({_one_line(e)})") from None
        finally:
            f.close()

    return header, rows()
