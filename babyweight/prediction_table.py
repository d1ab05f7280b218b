"""A table of one model version's predictions over the model's input domain, kept beside the
version (`<version>/assets.extra/prediction_table.npz`), so a server answers those rows without
running the model.

The domain comes from the feature table (babyweight/features.py, which the schema test holds
against schema.pbtxt): is_male (3 values) x mother_age (its range) x plurality (6 values) x
gestation_weeks (its range), 25,110 rows today. A table holds every row of the domain when the
domain has at most `max_rows` rows (the pipeline setting `prediction_table_rows`), so every
valid Instance is in it; over that, it holds the `max_rows` combinations seen most often in the
training data (`table_rows`), and the model answers the others.

The predictions are made by the project's batch prediction job (babyweight/batch/table.py runs
babyweight/batch/predict.py over the chosen rows); this module only chooses rows, stores and
reads tables, and looks rows up. The file holds the rows (their indices in the domain), the
predictions (float32, the model's own dtype), the domain it was built over (the features and
each one's values) and the version and saved_model.pb digest it was built from: `read()`
refuses a table made for another version or another model, or over another domain, so a table
never answers for a model it was not made from.

    rows = table_rows(domain, max_rows, counts)      # counts: count_rows(domain, training columns)
    write(version_dir, make(version_dir, rows, predictions))
    table = read(version_dir)                        # TableError when missing or not this version's
    predictions, found = table.lookup(instances)
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import io
import itertools
from pathlib import Path

from babyweight import features as F
from babyweight.errors import BabyweightError
from babyweight.instances import Instance

import numpy as np

ASSETS_EXTRA = "assets.extra"
FILE_NAME = "prediction_table.npz"


class TableError(BabyweightError):
    """No usable table: missing, unreadable, or made for another version, model or domain."""


def table_path(version_dir) -> Path:
    return Path(version_dir) / ASSETS_EXTRA / FILE_NAME


def model_digest(version_dir) -> str:
    return hashlib.sha256((Path(version_dir) / "saved_model.pb").read_bytes()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Domain:
    """The model's input domain, one axis per feature of the table (babyweight/features.py): a
    category feature's values, or every whole number of a numeric feature's (min, max); and a
    row's index in it (mixed radix, the first feature slowest)."""

    names: tuple[str, ...]
    axes: tuple[tuple, ...]

    @classmethod
    def from_features(cls, table=None) -> Domain:
        table = F.FEATURES if table is None else table
        axes = tuple(
            tuple(f.domain) if f.categorical else tuple(range(f.domain[0], f.domain[1] + 1))
            for f in table
        )
        return cls(tuple(f.name for f in table), axes)

    @functools.cached_property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis) for axis in self.axes)

    @functools.cached_property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def instances(self) -> list[Instance]:
        return [
            Instance(dict(zip(self.names, row, strict=True)))
            for row in itertools.product(*self.axes)
        ]

    def columns(self, rows) -> dict[str, list]:
        """The feature values of domain rows (indices), as columns (feature name -> values)."""
        coords = np.unravel_index(np.asarray(rows, np.int64), self.shape)
        return {
            name: [axis[i] for i in at.tolist()]
            for name, axis, at in zip(self.names, self.axes, coords, strict=True)
        }

    @functools.cached_property
    def _positions(self) -> tuple[dict, ...]:
        return tuple({v: i for i, v in enumerate(axis)} for axis in self.axes)

    def index(self, instance) -> int:
        """An instance's row in the domain, -1 when it is outside the domain."""
        index = 0
        for name, position, n in self._axes:
            at = position.get(instance[name])
            if at is None:
                return -1
            index = index * n + at
        return index

    @functools.cached_property
    def _axes(self) -> tuple:
        return tuple(zip(self.names, self._positions, self.shape, strict=True))

    def indices(self, instances: list[Instance]) -> np.ndarray:
        """Each instance's row in the domain, -1 when it is outside the domain."""
        return np.array([self.index(i) for i in instances], dtype=np.int64).reshape(-1)

    def column_indices(self, columns) -> np.ndarray:
        """Each row's index in the domain from columns of values (feature name -> array; bytes
        are read as UTF-8 text), -1 when it is outside the domain: once per distinct value."""
        index = None
        for name, position, n in zip(self.names, self._positions, self.shape, strict=True):
            uniques, inverse = np.unique(np.asarray(columns[name]), return_inverse=True)
            values = [u.decode() if isinstance(u, bytes) else u for u in uniques.tolist()]
            at = np.array([position.get(v, -1) for v in values], np.int64)[inverse.reshape(-1)]
            index = at if index is None else np.where((index < 0) | (at < 0), -1, index * n + at)
        return index

    def as_arrays(self) -> dict:
        return {
            "names": np.array(self.names),
            **{f"axis_{n}": np.array(a) for n, a in zip(self.names, self.axes, strict=True)},
        }

    @classmethod
    def from_arrays(cls, data) -> Domain:
        names = tuple(data["names"].tolist())
        return cls(names, tuple(tuple(data[f"axis_{n}"].tolist()) for n in names))


def count_rows(domain: Domain, columns) -> np.ndarray:
    """How often each row of the domain occurs in `columns` (feature name -> values, as
    instances.read_instance_columns gives the valid rows of the training data)."""
    index = domain.column_indices(columns)
    return np.bincount(index[index >= 0], minlength=domain.size)


def table_rows(domain: Domain, max_rows: int, counts: np.ndarray | None = None) -> np.ndarray:
    """The domain rows a table holds, sorted: all of them when the domain has at most max_rows;
    otherwise the max_rows rows seen most often in `counts` (count_rows of the training data;
    equal counts: the lower row first), never a row seen no time. TableError when the domain
    is over max_rows and there are no counts to choose by."""
    if max_rows < 1:
        raise TableError(f"prediction table: max_rows must be at least 1 (got {max_rows})")
    if domain.size <= max_rows:
        return np.arange(domain.size, dtype=np.int64)
    if counts is None:
        raise TableError(
            f"prediction table: the domain has {domain.size} rows, over {max_rows}, and there "
            "are no training rows to choose the most frequent combinations by"
        )
    counts = np.asarray(counts)
    if counts.shape != (domain.size,):
        raise TableError(f"prediction table: counts for {counts.shape} rows, not {domain.size}")
    seen = np.flatnonzero(counts > 0)
    by_count = seen[np.lexsort((seen, -counts[seen]))]
    return np.sort(by_count[:max_rows]).astype(np.int64)


@dataclasses.dataclass
class PredictionTable:
    version: str
    digest: str
    domain: Domain
    rows: np.ndarray  # int64, sorted, distinct: the domain rows the table holds
    predictions: np.ndarray  # float32, the prediction of each of `rows`
    selection: str = ""  # how the rows were chosen, in words (the whole domain, the most frequent)

    @property
    def full(self) -> bool:
        return len(self.rows) == self.domain.size

    @functools.cached_property
    def _lists(self) -> tuple[list, list]:
        """(rows, predictions) as Python lists, for answers(): a few microseconds a row where
        numpy's calls cost more than the lookup itself."""
        return self.rows.tolist(), self.predictions.tolist()

    def answer(self, instance) -> float | None:
        """One instance's prediction (float(float32), as the model's answers are made into
        JSON numbers), None when the table does not hold it."""
        index = self.domain.index(instance)
        if index < 0:
            return None
        rows, values = self._lists
        if len(rows) == self.domain.size:
            return values[index]
        at = bisect.bisect_left(rows, index)
        return values[at] if at < len(rows) and rows[at] == index else None

    def lookup_index(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predictions, found) for domain rows (-1: outside the domain); NaN where not found."""
        values = np.full(len(index), np.nan, dtype=np.float32)
        if self.full:
            found = index >= 0
            values[found] = self.predictions[index[found]]
            return values, found
        at = np.minimum(np.searchsorted(self.rows, index), max(len(self.rows) - 1, 0))
        found = (index >= 0) & (self.rows[at] == index) if len(self.rows) else index < -1
        values[found] = self.predictions[at[found]]
        return values, found

    def lookup(self, instances: list[Instance]) -> tuple[np.ndarray, np.ndarray]:
        """(predictions, found): found[i] says whether instances[i] was in the table."""
        return self.lookup_index(self.domain.indices(instances))


def make(version_dir, rows, predictions, selection: str = "") -> PredictionTable:
    """The table of `version_dir` holding `predictions` (one per domain row of `rows`)."""
    rows, predictions = np.asarray(rows, np.int64), np.asarray(predictions, np.float32)
    if rows.shape != predictions.shape:
        raise TableError(f"prediction table: {len(rows)} rows but {len(predictions)} predictions")
    order = np.argsort(rows, kind="stable")
    version_dir = Path(version_dir)
    return PredictionTable(
        version_dir.name,
        model_digest(version_dir),
        Domain.from_features(),
        rows[order],
        predictions[order],
        selection,
    )


def write(version_dir, table: PredictionTable) -> Path:
    """Write the table under <version>/assets.extra/ (to a temp file, then renamed)."""
    path = table_path(version_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        rows=table.rows,
        predictions=table.predictions,
        selection=np.array(table.selection),
        version=np.array(table.version),
        digest=np.array(table.digest),
        **table.domain.as_arrays(),
    )
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(buffer.getvalue())
    temp.replace(path)
    return path


def read(version_dir) -> PredictionTable:
    """The version's table; TableError saying why when there is none it may answer with."""
    path = table_path(version_dir)
    if not path.is_file():
        raise TableError(f"{path}: no prediction table")
    try:
        with np.load(path, allow_pickle=False) as data:
            domain = Domain.from_arrays(data)
            predictions = data["predictions"]
            if "rows" in data:
                rows = data["rows"]
            else:  # a table written before tables held rows: the whole domain, NaN unfilled
                rows = np.flatnonzero(~np.isnan(predictions))
                predictions = predictions[rows]
            selection = str(data["selection"]) if "selection" in data else ""
            table = PredictionTable(
                str(data["version"]), str(data["digest"]), domain, rows, predictions, selection
            )
    except Exception as e:  # a torn or foreign file: any reader error means no table
        raise TableError(f"{path}: unreadable prediction table ({type(e).__name__}: {e})") from e
    version_dir = Path(version_dir)
    if table.version != version_dir.name or table.digest != model_digest(version_dir):
        raise TableError(f"{path}: made for version {table.version}'s model, not this one")
    if domain != Domain.from_features():
        raise TableError(f"{path}: made over another input domain than the feature table's")
    _check_arrays(path, table)
    return table


def _check_arrays(path, table: PredictionTable) -> None:
    rows, predictions = table.rows, table.predictions
    if predictions.dtype != np.float32:
        raise TableError(f"{path}: predictions are {predictions.dtype}, not float32")
    if rows.dtype != np.int64 or rows.ndim != 1 or rows.shape != predictions.shape:
        raise TableError(f"{path}: rows {rows.dtype}{rows.shape}, not int64 like predictions")
    if len(rows) and (rows[0] < 0 or rows[-1] >= table.domain.size or np.any(np.diff(rows) <= 0)):
        raise TableError(f"{path}: rows are not distinct, sorted rows of the domain")
    if np.isnan(predictions).any():
        raise TableError(f"{path}: {int(np.isnan(predictions).sum())} predictions are NaN")
