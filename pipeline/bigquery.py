"""The course's BigQuery query over `samples.natality`, for BigQueryExampleGen.

It keeps the rows the model can learn from (every value positive), turns `is_male` into the same
"True"/"False" strings as the CSV files, and adds the course's year-month hash as the split key.
"""

from __future__ import annotations

from babyweight import features as F

from .configs import BIGQUERY_TABLE


def natality_query(table: str = BIGQUERY_TABLE, limit: int | None = None) -> str:
    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit!r}: must be a positive number of rows")
    positive = "\n  AND ".join(f"{c} > 0" for c in F.POSITIVE_COLUMNS)
    query = f"""SELECT
  {F.LABEL_KEY},
  IF({F.IS_MALE}, 'True', 'False') AS {F.IS_MALE},
  {F.MOTHER_AGE},
  {F.PLURALITY},
  {F.GESTATION_WEEKS},
  ABS(FARM_FINGERPRINT(CONCAT(CAST(year AS STRING), CAST(month AS STRING)))) AS {F.SPLIT_KEY}
FROM `{table}`
WHERE {positive}"""
    if limit is not None:
        query += f"\nLIMIT {int(limit)}"
    return query
