"""What the batch job moves from step to step: one element per batch of rows, never per row.

    RecordBatch      records as read, as columns (pyarrow string arrays from the CSV reader,
                     lists of raw values from JSONL, TFRecord and BigQuery), with the records
                     that could not be read at all (wrong number of fields, not UTF-8 text)
      -> check() ->  InstanceBatch (the valid rows: the model's inputs and the keys) and
                     dead-letter rows (dicts) for every other record
      -> the model -> PredictionBatch (an InstanceBatch and its predictions), written as text
                     in one go (CSV) or as row dicts (JSONL, BigQuery)

The rules for a valid row are babyweight.instances' (read_instance_columns reads whole columns
with the rules of parse_instance), so a record is dead-lettered with the same field and reason
as the REST server would give.
"""

from __future__ import annotations

import dataclasses
import json

from babyweight import features as F
from babyweight.instances import read_instance_columns

import numpy as np

UNREADABLE_FIELD = "row"  # the dead-letter field of a record that could not be read as a row


def _value_text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def dead_row(key_column, key, field, value, reason, raw) -> dict:
    """One dead-letter row: the field, its value and why, and the input record as read."""
    row = {
        "field": field,
        "value": _value_text(value),
        "reason": reason,
        "input": raw if isinstance(raw, str) else json.dumps(raw, default=str),
    }
    if key_column:
        row[key_column] = key
    return row


def value_at(column, row: int):
    """One value of a column (a pyarrow array or a list) as a Python value."""
    value = column[row]
    return value.as_py() if hasattr(value, "as_py") else value


def _is_pyarrow(column) -> bool:
    return hasattr(column, "dictionary_encode")


@dataclasses.dataclass
class RecordBatch:
    """Input records of one batch. `columns` maps a column name to the values of the `rows`
    readable records; `unreadable` holds (reason, text) of each record that could not be read
    as a row; `records`, when set, are the readable records as read (dicts), for dead-letter
    rows (otherwise the columns are the record)."""

    columns: dict
    rows: int
    unreadable: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    records: list | None = None

    def __len__(self) -> int:
        """Records read: every one ends as a prediction or a dead-letter row."""
        return self.rows + len(self.unreadable)

    def record(self, row: int):
        if self.records is not None:
            return self.records[row]
        return {name: value_at(column, row) for name, column in self.columns.items()}


@dataclasses.dataclass
class InstanceBatch:
    """Valid rows: the model's inputs (instances.InstanceColumns.inputs) and each row's key."""

    inputs: dict[str, np.ndarray]
    key_column: str | None = None
    keys: object = None  # a pyarrow array or a list, with --key-column

    def __len__(self) -> int:
        return len(self.inputs[F.FEATURE_KEYS[0]])

    def rows(self) -> list[dict]:
        """One dict per row, the features normalized (as prediction output, without it)."""
        columns = {}
        for f in F.FEATURES:  # strings travel as bytes (instances.read_instance_columns)
            values = self.inputs[f.name].tolist()
            columns[f.name] = [v.decode() for v in values] if f.dtype == "string" else values
        if self.key_column:
            keys = self.keys.to_pylist() if _is_pyarrow(self.keys) else list(self.keys)
            columns[self.key_column] = keys
        names = list(columns)
        return [
            dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]


@dataclasses.dataclass
class PredictionBatch:
    """An InstanceBatch and the model's prediction for each of its rows."""

    instances: InstanceBatch
    predictions: np.ndarray

    def __len__(self) -> int:
        return len(self.predictions)

    def rows(self) -> list[dict]:
        rows = self.instances.rows()
        for row, value in zip(rows, self.predictions.tolist(), strict=True):
            row[F.PREDICTION_KEY] = value
        return rows

    def csv_text(self) -> str | None:
        """The rows as CSV lines (columns as io.prediction_columns), or None when a key needs
        quoting or is not a string (then the caller writes rows() one by one)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        instances = self.instances
        columns = []
        if instances.key_column:
            keys = instances.keys
            if not _is_pyarrow(keys) or pc.any(pc.match_substring_regex(keys, '[,"\r\n]')).as_py():
                return None
            columns.append(keys)
        for key in F.FEATURE_KEYS:
            columns.append(pa.array(instances.inputs[key]).cast(pa.string()))
        columns.append(float_text(self.predictions))
        if not len(self):
            return ""
        lines = pc.binary_join_element_wise(*columns, ",")
        return _concatenated(pc.binary_join_element_wise(lines, pa.scalar(""), "\n"))[:-1]


def _concatenated(strings) -> str:
    """The values of a pyarrow string array, one after another: a slice of its data buffer
    (no Python string per value)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)
    start, end = offsets[strings.offset], offsets[strings.offset + len(strings)]
    return memoryview(strings.buffers()[2])[start:end].tobytes().decode("utf-8")


def float_text(values: np.ndarray):
    """A pyarrow string array of str(float(v)) for each value, formatted in C++ (Python's repr
    for the few values where Arrow's shortest form differs: whole numbers, tiny or huge ones,
    nan and inf)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    doubles = np.asarray(values, dtype=np.float64)
    text = pc.cast(pa.array(doubles), pa.string())
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(doubles)
        python = ~np.isfinite(doubles) | (doubles == np.floor(doubles))
        python |= (magnitude < 1e-4) | (magnitude >= 1e16)
    if python.any():
        text = text.to_pylist()
        for row in np.flatnonzero(python).tolist():
            text[row] = str(float(doubles[row]))
        text = pa.array(text, pa.string())
    return text


def _filter(column, mask: np.ndarray):
    if _is_pyarrow(column):
        import pyarrow as pa

        return column.filter(pa.array(mask))
    return [value for value, keep in zip(column, mask, strict=True) if keep]


def _blank_keys(keys) -> np.ndarray:
    if _is_pyarrow(keys):
        import pyarrow.compute as pc

        blank = pc.or_kleene(pc.is_null(keys), pc.equal(keys, ""))
        return blank.fill_null(True).to_numpy(zero_copy_only=False)
    return np.array([k is None or k == "" for k in keys], dtype=bool)


def check(batch: RecordBatch, key_column: str | None) -> tuple[InstanceBatch | None, list[dict]]:
    """The valid rows of a batch, and a dead-letter row for every other record: unreadable,
    a missing or empty key, or a field that babyweight.instances rejects (its first one)."""
    dead = [
        dead_row(key_column, None, UNREADABLE_FIELD, None, reason, text)
        for reason, text in batch.unreadable
    ]
    read = read_instance_columns(batch.columns, batch.rows)
    valid, keys, blank_key = read.valid, None, None
    if key_column:
        keys = batch.columns.get(key_column, [None] * batch.rows)
        blank_key = _blank_keys(keys)
        valid = valid & ~blank_key
    for row in np.flatnonzero(~valid).tolist():
        key = value_at(keys, row) if key_column else None
        if key_column and blank_key[row]:
            field, value, reason = key_column, key, f"key column {key_column!r} is missing or empty"
        else:
            error = read.errors[row]
            field, value, reason = error.field, error.value, f"{error.field}: {error.reason}"
        dead.append(dead_row(key_column, key, field, value, reason, batch.record(row)))
    if not valid.any():
        return None, dead
    inputs = read.inputs
    if key_column:  # the key check took rows from the valid instances
        keep = valid[read.valid]
        inputs = {name: column[keep] for name, column in inputs.items()}
        keys = _filter(keys, valid)
    return InstanceBatch(inputs, key_column, keys), dead
