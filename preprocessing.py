"""Transform's preprocessing_fn: the feature work, one graph for training and for serving.

Outputs (names from babyweight.features):
- is_male_xf, plurality_xf: category ids. is_male has an "Unknown" id; plurality has ids for
  1..5 and one for "Multiple(2+)", which the trainer's masking and the serving signature use.
- mother_age_bucket_xf, gestation_weeks_bucket_xf: fixed, readable buckets (also TFMA slices).
- mother_age_xf, gestation_weeks_xf: z-scores over the training split.
- weight_pounds: the label, unchanged (absent at serving time).
"""

from babyweight import features as F

import tensorflow as tf
import tensorflow_transform as tft


def category_ids(strings: tf.Tensor) -> tf.Tensor:
    """is_male spellings ('True', 'false', '1', 'Unknown', ...) to ids in F.IS_MALE_VALUES;
    -1 for anything else, so the serving signature can reject it by name."""
    lowered = tf.strings.lower(tf.strings.strip(strings))
    ids = tf.fill(tf.shape(lowered), tf.constant(-1, tf.int64))
    for spelling, value in F.IS_MALE_SPELLINGS.items():
        value_id = tf.constant(F.IS_MALE_VALUES.index(value), tf.int64)
        ids = tf.where(tf.equal(lowered, spelling), value_id, ids)
    return ids


def plurality_ids(plurality: tf.Tensor) -> tf.Tensor:
    """Raw plurality 1..5 to ids 0..4 in F.PLURALITY_VALUES; -1 outside that range."""
    plurality = tf.cast(plurality, tf.int64)
    in_range = tf.logical_and(plurality >= 1, plurality <= F.MAX_PLURALITY)
    return tf.where(in_range, plurality - 1, tf.constant(-1, tf.int64))


def buckets(values: tf.Tensor, boundaries: list[int]) -> tf.Tensor:
    as_float = tf.cast(values, tf.float32)
    return tft.apply_buckets(as_float, tf.constant([boundaries], tf.float32))


def preprocessing_fn(inputs):
    """tf.Transform callback: raw natality features in, model features out."""
    mother_age = inputs[F.MOTHER_AGE]
    gestation = inputs[F.GESTATION_WEEKS]
    outputs = {
        F.transformed_name(F.IS_MALE): category_ids(inputs[F.IS_MALE]),
        F.transformed_name(F.PLURALITY): plurality_ids(inputs[F.PLURALITY]),
        F.bucket_name(F.MOTHER_AGE): buckets(mother_age, F.MOTHER_AGE_BOUNDARIES),
        F.bucket_name(F.GESTATION_WEEKS): buckets(gestation, F.GESTATION_WEEKS_BOUNDARIES),
        F.transformed_name(F.MOTHER_AGE): tft.scale_to_z_score(tf.cast(mother_age, tf.float32)),
        F.transformed_name(F.GESTATION_WEEKS): tft.scale_to_z_score(tf.cast(gestation, tf.float32)),
    }
    if F.LABEL_KEY in inputs:
        outputs[F.LABEL_KEY] = tf.cast(inputs[F.LABEL_KEY], tf.float32)
    return outputs
