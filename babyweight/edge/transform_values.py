"""The Transform graph's values, read from its layer: bucket boundaries, z-score lines, codes.

The edge model (babyweight/edge/graph.py) redoes Transform's work with TFLite built-ins. It
must not re-type a boundary or a mean: every value here is read by calling the trained model's
Transform layer (the same graph the server runs) on probe inputs.

- Codes: the category id Transform gives each is_male value ("False", "True", "Unknown") and
  each plurality (1..5); "Multiple(2+)" is the id the serving signature gives it. The edge
  signature takes these ids as its is_male and plurality codes.
- Buckets: raw mother_age and gestation_weeks are whole numbers (int64 in the schema), and a
  bucket id only grows with the value; boundary k is the smallest whole number whose bucket is
  k or more, found by bisection. Bucketize with those boundaries gives the same id for every
  whole number.
- Z-scores: Transform's z = (x - mean) / std is a line in x; its value at 0 and its slope are
  read from the layer at x = 0 and x = 1.

`check_against_layer` then compares the result with the layer on every whole number in a range
and refuses any difference, so a Transform the edge model cannot copy is found at export time.
"""

from __future__ import annotations

import dataclasses

from babyweight import features as F
from babyweight.errors import BabyweightError, ExitCode

import numpy as np
import tensorflow as tf

NUMERIC = (F.MOTHER_AGE, F.GESTATION_WEEKS)
SEARCH_LOW, SEARCH_HIGH = -(2**31), 2**31 - 1  # whole numbers a boundary may be
CHECK_RANGE = range(-5, 121)  # whole numbers compared with the layer after reading
# Relative to the z-score's size (at least 1): the edge's z = a + x*b and Transform's
# (x - mean) / std round differently in float32, more so far from the mean (gestation 120).
Z_TOLERANCE = 1e-4


class TransformMismatchError(BabyweightError, ValueError):
    """The values read do not reproduce the Transform layer (the EdgeExport step fails)."""

    code = ExitCode.FAILED


@dataclasses.dataclass(frozen=True)
class TransformValues:
    boundaries: dict[str, list[float]]  # raw feature -> Bucketize boundaries
    z_at_zero: dict[str, float]  # raw feature -> Transform's z-score at 0
    z_slope: dict[str, float]  # raw feature -> z-score per unit
    is_male_codes: dict[str, int]  # F.IS_MALE_VALUES -> Transform id
    plurality_codes: dict[str, int]  # F.PLURALITY_VALUES -> Transform id

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _call(layer, n: int, **columns) -> dict[str, np.ndarray]:
    """The layer on n rows; columns not given get a valid default."""
    raw = {
        F.IS_MALE: np.full(n, F.IS_MALE_VALUES[0]),
        F.MOTHER_AGE: np.full(n, 30),
        F.PLURALITY: np.full(n, 1),
        F.GESTATION_WEEKS: np.full(n, 39),
    }
    raw.update(columns)
    tensors = {
        F.IS_MALE: tf.constant(np.asarray(raw[F.IS_MALE], dtype=object).astype(bytes)),
        F.MOTHER_AGE: tf.constant(raw[F.MOTHER_AGE], tf.int64),
        F.PLURALITY: tf.constant(raw[F.PLURALITY], tf.int64),
        F.GESTATION_WEEKS: tf.constant(raw[F.GESTATION_WEEKS], tf.int64),
    }
    out = layer({k: tf.reshape(v, [-1, 1]) for k, v in tensors.items()})
    return {k: v.numpy().reshape(-1) for k, v in out.items()}


def _boundaries(layer, feature: str, n_buckets: int) -> list[float]:
    """Smallest whole number of each bucket 1..n_buckets-1, by bisection on all at once."""
    name = F.bucket_name(feature)
    ks = np.arange(1, n_buckets, dtype=np.int64)
    low = np.full(ks.shape, SEARCH_LOW, np.int64)  # bucket(low) < k
    high = np.full(ks.shape, SEARCH_HIGH, np.int64)  # bucket(high) >= k
    ends = _call(layer, 2, **{feature: np.array([SEARCH_LOW, SEARCH_HIGH])})[name]
    if ends[0] != 0 or ends[1] != n_buckets - 1:
        raise TransformMismatchError(
            f"{name}: buckets {ends[0]}..{ends[1]} over the whole numbers; "
            f"the model expects 0..{n_buckets - 1}"
        )
    while np.any(high - low > 1):
        mid = low + (high - low) // 2
        ids = _call(layer, len(ks), **{feature: mid})[name]
        above = ids >= ks
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    return [float(b) for b in high]


def read(layer, bucket_counts: dict[str, int]) -> TransformValues:
    """Every value the edge model needs, from Transform `layer`; bucket_counts: raw numeric
    feature -> number of buckets the trained model's one-hot takes (read from the model)."""
    boundaries = {f: _boundaries(layer, f, bucket_counts[f]) for f in NUMERIC}
    lines = _call(layer, 2, **{f: np.array([0, 1]) for f in NUMERIC})
    z0 = {f: float(lines[F.transformed_name(f)][0]) for f in NUMERIC}
    slope = {f: float(lines[F.transformed_name(f)][1]) - z0[f] for f in NUMERIC}
    sexes = _call(layer, len(F.IS_MALE_VALUES), **{F.IS_MALE: np.array(F.IS_MALE_VALUES)})
    counts = np.arange(1, F.MAX_PLURALITY + 1)
    births = _call(layer, len(counts), **{F.PLURALITY: counts})
    ids = births[F.transformed_name(F.PLURALITY)].tolist()
    plurality = dict(zip(F.PLURALITY_VALUES[: len(ids)], ids, strict=True))
    # The serving signature's own id for "Multiple(2+)" (models/signatures.py): the last one.
    plurality[F.MULTIPLE] = F.PLURALITY_VALUES.index(F.MULTIPLE)
    sex_ids = sexes[F.transformed_name(F.IS_MALE)].tolist()
    return TransformValues(
        boundaries=boundaries,
        z_at_zero=z0,
        z_slope=slope,
        is_male_codes=dict(zip(F.IS_MALE_VALUES, sex_ids, strict=True)),
        plurality_codes={k: int(v) for k, v in plurality.items()},
    )


def apply_numpy(values: TransformValues, feature: str, x: np.ndarray) -> tuple:
    """(bucket ids, z-scores) of raw values x, as the edge graph computes them."""
    x = np.asarray(x, np.float32)
    buckets = np.searchsorted(np.asarray(values.boundaries[feature], np.float32), x, "right")
    z = np.float32(values.z_at_zero[feature]) + x * np.float32(values.z_slope[feature])
    return buckets, z


def check_against_layer(values: TransformValues, layer) -> None:
    """Refuse values that differ from the layer on any whole number in CHECK_RANGE."""
    xs = np.array(list(CHECK_RANGE))
    out = _call(layer, len(xs), **{f: xs for f in NUMERIC})
    for feature in NUMERIC:
        buckets, z = apply_numpy(values, feature, xs)
        wrong = np.flatnonzero(buckets != out[F.bucket_name(feature)])
        if wrong.size:
            raise TransformMismatchError(
                f"{F.bucket_name(feature)}: the edge bucket differs from Transform's at "
                f"{feature}={int(xs[wrong[0]])}"
            )
        expected = out[F.transformed_name(feature)]
        gap = float(np.max(np.abs(z - expected) / np.maximum(1.0, np.abs(expected))))
        if gap > Z_TOLERANCE:
            raise TransformMismatchError(
                f"{F.transformed_name(feature)}: the edge z-score differs from Transform's by "
                f"{gap:.2g} of its size (tolerance {Z_TOLERANCE})"
            )
