"""A table of one model version's predictions over the model's whole input domain, kept beside the
version (`<version>/assets.extra/prediction_table.npz`), so a server answers those rows without
running the model.

The domain comes from the feature table (babyweight/features.py, which the schema test holds
against schema.pbtxt): is_male (3 values) x mother_age (its range) x plurality (6 values) x
gestation_weeks (its range), 25,110 rows today. Every valid Instance is in it, so a full table
answers every valid row.

The file holds the predictions (float32, the model's own dtype, NaN where a row is not filled),
the domain it was built over (the features and each one's values) and the version and
saved_model.pb digest it was built from: `read()` refuses a table made for another version or
another model, or over another domain, so a table never answers for a model it was not made
from.

    table = build(version_dir, predict)      # predict(instances) -> predictions, in batches
    write(version_dir, table)                # the Pusher does both after a push
    table = read(version_dir)                # TableError when missing or not this version's
    predictions, found = table.lookup(instances)
"""

from __future__ import annotations

import dataclasses
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
DEFAULT_MAX_ROWS = 1_000_000  # a bigger domain is not tabled (configurable: build(max_rows=))
BATCH = 4096


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

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis) for axis in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def instances(self) -> list[Instance]:
        return [
            Instance(dict(zip(self.names, row, strict=True)))
            for row in itertools.product(*self.axes)
        ]

    def indices(self, instances: list[Instance]) -> np.ndarray:
        """Each instance's row in the table, -1 when it is outside the domain."""
        positions = [{v: i for i, v in enumerate(axis)} for axis in self.axes]
        out = np.empty(len(instances), dtype=np.int64)
        for k, row in enumerate(instances):
            index = 0
            for name, position, n in zip(self.names, positions, self.shape, strict=True):
                at = position.get(row[name])
                if at is None:
                    index = -1
                    break
                index = index * n + at
            out[k] = index
        return out

    def as_arrays(self) -> dict:
        return {
            "names": np.array(self.names),
            **{f"axis_{n}": np.array(a) for n, a in zip(self.names, self.axes, strict=True)},
        }

    @classmethod
    def from_arrays(cls, data) -> Domain:
        names = tuple(data["names"].tolist())
        return cls(names, tuple(tuple(data[f"axis_{n}"].tolist()) for n in names))


@dataclasses.dataclass
class PredictionTable:
    version: str
    digest: str
    domain: Domain
    predictions: np.ndarray  # float32, domain.size, NaN where not filled

    def lookup(self, instances: list[Instance]) -> tuple[np.ndarray, np.ndarray]:
        """(predictions, found): found[i] says whether instances[i] was in the table."""
        index = self.domain.indices(instances)
        values = np.full(len(instances), np.nan, dtype=np.float32)
        inside = index >= 0
        values[inside] = self.predictions[index[inside]]
        return values, ~np.isnan(values)


def build(version_dir, predict, *, max_rows: int = DEFAULT_MAX_ROWS):
    """The table of `predict` (instances -> predictions) over the whole domain; TableError when
    the domain has more than max_rows rows."""
    domain = Domain.from_features()
    if domain.size > max_rows:
        raise TableError(f"prediction table: the domain has {domain.size} rows, over {max_rows}")
    rows = domain.instances()
    predictions = np.concatenate(
        [np.asarray(predict(rows[i : i + BATCH]), np.float32) for i in range(0, len(rows), BATCH)]
    )
    version_dir = Path(version_dir)
    return PredictionTable(version_dir.name, model_digest(version_dir), domain, predictions)


def write(version_dir, table: PredictionTable) -> Path:
    """Write the table under <version>/assets.extra/ (to a temp file, then renamed)."""
    path = table_path(version_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        predictions=table.predictions,
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
            table = PredictionTable(
                str(data["version"]), str(data["digest"]), domain, data["predictions"]
            )
    except Exception as e:  # a torn or foreign file: any reader error means no table
        raise TableError(f"{path}: unreadable prediction table ({type(e).__name__}: {e})") from e
    version_dir = Path(version_dir)
    if table.version != version_dir.name or table.digest != model_digest(version_dir):
        raise TableError(f"{path}: made for version {table.version}'s model, not this one")
    if domain != Domain.from_features() or table.predictions.shape != (domain.size,):
        raise TableError(f"{path}: made over another input domain than the feature table's")
    if table.predictions.dtype != np.float32:
        raise TableError(f"{path}: predictions are {table.predictions.dtype}, not float32")
    return table
