"""Rows for the edge model: a split of ExampleGen's output as columns, and columns as codes.

`read_split` gives raw columns as the served model takes them (is_male text, whole numbers);
`to_codes` maps them to the edge signature's inputs with the codes read from Transform
(babyweight/edge/transform_values.py), the way an app maps its form.
"""

from __future__ import annotations

import os

from babyweight import features as F
from babyweight.edge.graph import INPUT_DTYPES
from babyweight.edge.transform_values import TransformValues

import numpy as np
import tensorflow as tf

RAW_SPEC = {
    F.IS_MALE: tf.io.FixedLenFeature([], tf.string),
    F.MOTHER_AGE: tf.io.FixedLenFeature([], tf.int64),
    F.PLURALITY: tf.io.FixedLenFeature([], tf.int64),
    F.GESTATION_WEEKS: tf.io.FixedLenFeature([], tf.int64),
    F.LABEL_KEY: tf.io.FixedLenFeature([], tf.float32),
}


def read_split(examples_uri: str, split: str, limit: int | None = None) -> dict[str, np.ndarray]:
    """Columns of ExampleGen's `split` (tf.Examples, gzip), in file order."""
    files = sorted(tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    if not files:
        raise FileNotFoundError(f"{examples_uri}: no Split-{split} files")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if limit is not None:
        dataset = dataset.take(limit)
    batches = [tf.io.parse_example(b, RAW_SPEC) for b in dataset.batch(4096)]
    columns = {k: np.concatenate([b[k].numpy() for b in batches]) for k in RAW_SPEC}
    columns[F.IS_MALE] = np.array([v.decode() for v in columns[F.IS_MALE]])
    return columns


def is_male_code(text: str, values: TransformValues) -> int:
    """The edge code of an is_male spelling ('true', 'False', '1', 'Unknown', ...)."""
    return values.is_male_codes[F.IS_MALE_SPELLINGS[text.strip().lower()]]


def plurality_code(count: int, values: TransformValues) -> int:
    """The edge code of a raw plurality 1..5."""
    return values.plurality_codes[F.PLURALITY_VALUES[int(count) - 1]]


def to_codes(columns: dict, values: TransformValues) -> dict[str, np.ndarray]:
    """The edge signature's inputs for raw columns."""
    return {
        F.IS_MALE: np.array([is_male_code(v, values) for v in columns[F.IS_MALE]], np.int32),
        F.MOTHER_AGE: np.asarray(columns[F.MOTHER_AGE], np.float32),
        F.PLURALITY: np.array([plurality_code(v, values) for v in columns[F.PLURALITY]], np.int32),
        F.GESTATION_WEEKS: np.asarray(columns[F.GESTATION_WEEKS], np.float32),
    }


def one_row_each(codes: dict[str, np.ndarray], n: int) -> list[dict[str, np.ndarray]]:
    """The first n rows, one dict of 1-element arrays per row (TFLite's representative data)."""
    count = len(next(iter(codes.values())))
    return [
        {k: codes[k][i : i + 1].astype(INPUT_DTYPES[k].as_numpy_dtype) for k in codes}
        for i in range(min(n, count))
    ]


def saved_model_predictions(model_dir: str, columns: dict) -> np.ndarray:
    """The served model's predictions (its serving_default signature) for raw columns."""
    served = tf.saved_model.load(model_dir).signatures[F.RAW_SIGNATURE]
    out = served(
        is_male=tf.constant(columns[F.IS_MALE]),
        mother_age=tf.constant(columns[F.MOTHER_AGE], tf.int64),
        plurality=tf.constant([str(int(p)) for p in columns[F.PLURALITY]]),
        gestation_weeks=tf.constant(columns[F.GESTATION_WEEKS], tf.int64),
    )
    return out[F.PREDICTION_KEY].numpy().reshape(-1)
