"""Real rows of ../shared/data/natality/babyweight_2014_100k.csv (BigQuery's names) written as
BigQuery exports them (BOOL, INT64, FLOAT64, NULL), with pyarrow and fastavro."""

from __future__ import annotations

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
from helpers import natality_rows

COLUMNS = ["weight_pounds", "is_male", "mother_age", "plurality", "gestation_weeks", "year"]
TYPES = [pa.float64(), pa.bool_(), pa.int64(), pa.int64(), pa.int64(), pa.int64()]
AVRO_TYPES = ["double", "boolean", "long", "long", "long", "long"]


def real_rows(limit=1500) -> list[list[str]]:
    header, rows = natality_rows("babyweight_2014_100k.csv", every=3, limit=limit)
    at = [header.index(c) for c in COLUMNS]
    return [[row[i] for i in at] for row in rows]


def typed(rows) -> list[dict]:
    """The rows as BigQuery's types: empty cells are NULL."""
    casts = [float, lambda v: v == "True", int, int, int, int]
    return [
        {c: (cast(v) if v != "" else None) for c, cast, v in zip(COLUMNS, casts, row, strict=True)}
        for row in rows
    ]


def write_parquet(path, rows, types=TYPES):
    records = typed(rows)
    arrays = [pa.array([r[c] for r in records], t) for c, t in zip(COLUMNS, types, strict=True)]
    pq.write_table(pa.table(dict(zip(COLUMNS, arrays, strict=True))), path)
    return path


def write_avro(path, rows, columns=COLUMNS):
    fields = [
        {"name": c, "type": ["null", t]}
        for c, t in zip(COLUMNS, AVRO_TYPES, strict=True)
        if c in columns
    ]
    schema = {"type": "record", "name": "natality", "fields": fields}
    records = [{c: r[c] for c in columns} for r in typed(rows)]
    with open(path, "wb") as f:
        fastavro.writer(f, schema, records)
    return path
