"""The exported model's signatures; every one runs the Transform graph before the model.

- serving_default: raw features as tensors, one value per row, as a person writes them: one
  input per feature of the table (babyweight/features.py), named and typed as it says
  (is_male "True"/"False"/"Unknown"; plurality "Single(1)".."Quintuplets(5)", "Multiple(2+)" or
  "1".."5"; mother_age and gestation_weeks as integers). A JSON row needs no tf.Example.
- serving_tf_example: serialized tf.Example, for TFMA and batch jobs.
- transform_features: serialized tf.Example to Transform's outputs, so TFMA can slice on the
  mother-age bucket.
"""

from __future__ import annotations

from babyweight import features as F

import tensorflow as tf


def raw_input_signature() -> list[tf.TensorSpec]:
    """What serving_default takes: one tensor per feature of the table, in its order, named
    and typed as the table says (TensorFlow names the signature's inputs after these specs)."""
    return [tf.TensorSpec([None], tf.as_dtype(f.dtype), name=f.name) for f in F.FEATURES]


def _parse_plurality(labels: tf.Tensor):
    lowered = tf.strings.lower(tf.strings.strip(labels))
    raw = tf.fill(tf.shape(lowered), tf.constant(-1, tf.int64))
    multiple = tf.zeros(tf.shape(lowered), tf.bool)
    for spelling, label in F.PLURALITY_SPELLINGS.items():
        hit = tf.equal(lowered, spelling)
        raw = tf.where(hit, tf.constant(F.plurality_count(label), tf.int64), raw)
        if label == F.MULTIPLE:
            multiple = tf.logical_or(multiple, hit)
    return raw, multiple


def _check(ok: tf.Tensor, field: str, values: tf.Tensor, allowed: str):
    return tf.debugging.Assert(
        tf.reduce_all(ok),
        [f"invalid {field}: expected {allowed}; got", values],
        summarize=10,
    )


def _predict(model, transformed: dict) -> dict:
    model_inputs = {k: transformed[k] for k in model.input_names}
    return {F.PREDICTION_KEY: tf.squeeze(model(model_inputs), axis=-1)}


def make_signatures(model: tf.keras.Model, tf_transform_output) -> dict:
    """The three signatures, bound to `model` with Transform's layer tracked on it."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {k: v for k, v in raw_spec.items() if k in F.FEATURE_KEYS}

    @tf.function(input_signature=raw_input_signature())
    def serve_raw(*tensors):
        raw = dict(zip(F.FEATURE_KEYS, tensors, strict=True))
        is_male, plurality = raw[F.IS_MALE], raw[F.PLURALITY]
        raw_plurality, multiple = _parse_plurality(plurality)
        raw[F.PLURALITY] = raw_plurality
        transformed = model.tft_layer({k: tf.expand_dims(v, -1) for k, v in raw.items()})
        sex_id = transformed[F.transformed_name(F.IS_MALE)]
        checks = [
            _check(raw_plurality >= 0, F.PLURALITY, plurality, ", ".join(F.PLURALITY_VALUES)),
            _check(sex_id >= 0, F.IS_MALE, is_male, "True, False or Unknown"),
        ]
        with tf.control_dependencies(checks):
            plurality_xf = transformed[F.transformed_name(F.PLURALITY)]
            transformed[F.transformed_name(F.PLURALITY)] = tf.where(
                tf.expand_dims(multiple, -1),
                tf.constant(F.PLURALITY_VALUES.index(F.MULTIPLE), plurality_xf.dtype),
                plurality_xf,
            )
            return _predict(model, transformed)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_tf_examples(examples):
        raw = tf.io.parse_example(examples, serving_spec)
        return _predict(model, model.tft_layer(raw))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(examples):
        return model.tft_layer(tf.io.parse_example(examples, serving_spec))

    return {
        F.RAW_SIGNATURE: serve_raw.get_concrete_function(),
        F.EXAMPLE_SIGNATURE: serve_tf_examples.get_concrete_function(),
        F.TRANSFORM_SIGNATURE: transform_features.get_concrete_function(),
    }
