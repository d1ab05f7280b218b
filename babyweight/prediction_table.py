"""A table of one model version's predictions over the model's whole input domain, kept beside the
version (`<version>/assets.extra/prediction_table.npz`), so a server answers those rows without
running the model.

The domain comes from the schema and features.py: is_male (3 values) x mother_age (the
schema's range) x plurality (6 values) x gestation_weeks (the schema's range), 25,110 rows with
the curated schema. Every valid Instance is in it, so a full table answers every valid row.

The file holds the predictions (float32, the model's own dtype, NaN where a row is not filled),
the domain it was built over (value lists and ranges) and the version and saved_model.pb digest
it was built from: `read()` refuses a table made for another version or another model, or over
another domain, so a table never answers for a model it was not made from.

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
from babyweight.schema import integer_domains

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
    """The model's input domain, and a row's index in it."""

    is_male: tuple[str, ...]
    plurality: tuple[str, ...]
    mother_age: tuple[int, int]
    gestation_weeks: tuple[int, int]

    @classmethod
    def from_schema(cls, schema_path: str | None = None) -> Domain:
        ranges = integer_domains(schema_path)
        return cls(
            tuple(F.IS_MALE_VALUES),
            tuple(F.PLURALITY_VALUES),
            tuple(ranges[F.MOTHER_AGE]),
            tuple(ranges[F.GESTATION_WEEKS]),
        )

    @property
    def shape(self) -> tuple[int, int, int, int]:
        ages, weeks = self.mother_age, self.gestation_weeks
        return (
            len(self.is_male),
            ages[1] - ages[0] + 1,
            len(self.plurality),
            weeks[1] - weeks[0] + 1,
        )

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def instances(self) -> list[Instance]:
        ages = range(self.mother_age[0], self.mother_age[1] + 1)
        weeks = range(self.gestation_weeks[0], self.gestation_weeks[1] + 1)
        return [
            Instance(is_male=m, mother_age=a, plurality=p, gestation_weeks=w)
            for m, a, p, w in itertools.product(self.is_male, ages, self.plurality, weeks)
        ]

    def indices(self, instances: list[Instance]) -> np.ndarray:
        """Each instance's row in the table, -1 when it is outside the domain."""
        males = {v: i for i, v in enumerate(self.is_male)}
        plurals = {v: i for i, v in enumerate(self.plurality)}
        n_male, n_age, n_plural, n_weeks = self.shape
        out = np.empty(len(instances), dtype=np.int64)
        for k, row in enumerate(instances):
            m, p = males.get(row.is_male), plurals.get(row.plurality)
            a = row.mother_age - self.mother_age[0]
            w = row.gestation_weeks - self.gestation_weeks[0]
            inside = m is not None and p is not None and 0 <= a < n_age and 0 <= w < n_weeks
            out[k] = ((m * n_age + a) * n_plural + p) * n_weeks + w if inside else -1
        return out

    def as_arrays(self) -> dict:
        return {
            "is_male": np.array(self.is_male),
            "plurality": np.array(self.plurality),
            "ranges": np.array([*self.mother_age, *self.gestation_weeks], dtype=np.int64),
        }


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


def build(version_dir, predict, *, max_rows: int = DEFAULT_MAX_ROWS, schema_path=None):
    """The table of `predict` (instances -> predictions) over the whole domain; TableError when
    the domain has more than max_rows rows."""
    domain = Domain.from_schema(schema_path)
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


def read(version_dir, *, schema_path=None) -> PredictionTable:
    """The version's table; TableError saying why when there is none it may answer with."""
    path = table_path(version_dir)
    if not path.is_file():
        raise TableError(f"{path}: no prediction table")
    try:
        with np.load(path, allow_pickle=False) as data:
            ranges = data["ranges"].tolist()
            domain = Domain(
                tuple(data["is_male"].tolist()),
                tuple(data["plurality"].tolist()),
                tuple(ranges[:2]),
                tuple(ranges[2:]),
            )
            table = PredictionTable(
                str(data["version"]), str(data["digest"]), domain, data["predictions"]
            )
    except Exception as e:  # a torn or foreign file: any reader error means no table
        raise TableError(f"{path}: unreadable prediction table ({type(e).__name__}: {e})") from e
    version_dir = Path(version_dir)
    if table.version != version_dir.name or table.digest != model_digest(version_dir):
        raise TableError(f"{path}: made for version {table.version}'s model, not this one")
    if domain != Domain.from_schema(schema_path) or table.predictions.shape != (domain.size,):
        raise TableError(f"{path}: made over another input domain than the schema's")
    if table.predictions.dtype != np.float32:
        raise TableError(f"{path}: predictions are {table.predictions.dtype}, not float32")
    return table
