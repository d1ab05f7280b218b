"""The course's BigQuery query over `samples.natality`, for BigQueryExampleGen.

It selects the label and every feature of the table (babyweight/features.py) by its BigQuery
source (`is_male` turned into the same "True"/"False" strings as the CSV files), keeps the rows
the model can learn from (every number positive), and adds the course's year-month hash as the
split key.
"""

from __future__ import annotations

from babyweight import features as F

from .configs import BIGQUERY_TABLE


def select_list() -> list[str]:
    """The label and each feature as the table's BigQuery source reads it."""
    selected = []
    for f in (F.LABEL, *F.FEATURES):
        source = f.source(F.BIGQUERY_FORMAT)
        expression = source.sql or source.column
        selected.append(expression if expression == f.name else f"{expression} AS {f.name}")
    return selected


def natality_query(table: str = BIGQUERY_TABLE, limit: int | None = None) -> str:
    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit!r}: must be a positive number of rows")
    positive = "\n  AND ".join(f"{c} > 0" for c in F.POSITIVE_COLUMNS)
    split_key = "ABS(FARM_FINGERPRINT(CONCAT(CAST(year AS STRING), CAST(month AS STRING))))"
    columns = "".join(f"  {expression},\n" for expression in select_list())
    query = f"""SELECT
{columns}  {split_key} AS {F.SPLIT_KEY}
FROM `{table}`
WHERE {positive}"""
    if limit is not None:
        query += f"\nLIMIT {int(limit)}"
    return query
