"""The edge model: Transform's work and the trained Keras model, in TFLite built-in ops only.

Its one signature, `serving_default`, takes what a device has (one value per row):

    is_male          int32  the Transform id of the baby's sex: 0 False, 1 True, 2 Unknown
                     (F.IS_MALE_VALUES order; the ids are read from Transform, and written
                     into the export's metadata)
    mother_age       float32  years, a whole number as BigQuery has it
    plurality        int32  0..4 for 1..5 babies ("Single(1)".."Quintuplets(5)"), 5 for
                     "Multiple(2+)" (F.PLURALITY_VALUES order)
    gestation_weeks  float32  weeks, a whole number

and returns `predicted_weight_pounds` (float32, one per row). No strings: the app maps its form
to the codes (examples/edge/predict.py shows how), so no StringLower/StringStrip is needed.

Transform's UpperBound becomes Bucketize with the boundaries read from the Transform layer
(babyweight/edge/transform_values.py); its z-scores become a multiply-add with its own mean and
deviation. The Keras model is cloned with each CategoryEncoding (DenseBincount, not a built-in)
replaced by OneHot, and gets the trained weights, so the edge model and the served one share
every number.
"""

from __future__ import annotations

from babyweight import features as F
from babyweight.edge.transform_values import NUMERIC, TransformValues

import tensorflow as tf

SIGNATURE = "serving_default"  # what TFLiteConverter names a concrete function's signature
INPUT_DTYPES = {
    F.IS_MALE: tf.int32,
    F.MOTHER_AGE: tf.float32,
    F.PLURALITY: tf.int32,
    F.GESTATION_WEEKS: tf.float32,
}


class OneHot(tf.keras.layers.Layer):
    """CategoryEncoding(output_mode="one_hot") of one id per row, as TFLite's ONE_HOT."""

    def __init__(self, num_tokens: int, **kwargs):
        super().__init__(**kwargs)
        self.num_tokens = num_tokens

    def call(self, ids):
        ids = tf.reshape(tf.cast(ids, tf.int32), [-1])
        return tf.one_hot(ids, self.num_tokens, dtype=self.compute_dtype)


def _replace_category_encoding(layer):
    if isinstance(layer, tf.keras.layers.CategoryEncoding):
        config = layer.get_config()
        if config.get("output_mode") != "one_hot":
            raise ValueError(f"{layer.name}: output_mode {config.get('output_mode')!r}")
        return OneHot(config["num_tokens"], name=layer.name)
    return layer.__class__.from_config(layer.get_config())


def keras_model(model: tf.keras.Model) -> tf.keras.Model:
    """Keras-only copy of the trained model (no Transform layer) in built-in ops, same weights."""
    inputs = {name: model.get_layer(name).output for name in model.input_names}
    body = tf.keras.Model(inputs=inputs, outputs=model.outputs)
    clone = tf.keras.models.clone_model(body, clone_function=_replace_category_encoding)
    clone.set_weights(body.get_weights())
    return clone


def bucket_counts(model: tf.keras.Model) -> dict[str, int]:
    """Raw numeric feature -> how many bucket ids the trained model's one-hot takes."""
    counts = {}
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.CategoryEncoding):
            source = layer.input if not isinstance(layer.input, list) else layer.input[0]
            for feature in NUMERIC:
                if source.name.startswith(F.bucket_name(feature)):
                    counts[feature] = int(layer.get_config()["num_tokens"])
    missing = [f for f in NUMERIC if f not in counts]
    if missing:
        raise ValueError(f"the model has no one-hot input for the buckets of {missing}")
    return counts


class EdgeModule(tf.Module):
    """`predict` (TFLite signature serving_default) over raw features, for TFLiteConverter."""

    def __init__(self, model: tf.keras.Model, values: TransformValues):
        super().__init__()
        self.model = keras_model(model)
        self.values = values

    def transformed(self, raw: dict) -> dict:
        out = {
            F.transformed_name(F.IS_MALE): raw[F.IS_MALE],
            F.transformed_name(F.PLURALITY): raw[F.PLURALITY],
        }
        for feature in NUMERIC:
            x = raw[feature]
            ids = tf.raw_ops.Bucketize(input=x, boundaries=self.values.boundaries[feature])
            out[F.bucket_name(feature)] = ids
            z0, slope = self.values.z_at_zero[feature], self.values.z_slope[feature]
            out[F.transformed_name(feature)] = z0 + x * slope
        return {k: tf.expand_dims(v, -1) for k, v in out.items()}

    @tf.function(
        input_signature=[tf.TensorSpec([None], d, name=n) for n, d in INPUT_DTYPES.items()]
    )
    def predict(self, is_male, mother_age, plurality, gestation_weeks):
        raw = {
            F.IS_MALE: is_male,
            F.MOTHER_AGE: mother_age,
            F.PLURALITY: plurality,
            F.GESTATION_WEEKS: gestation_weeks,
        }
        features = self.transformed(raw)
        inputs = {}
        for name in self.model.input_names:
            value = features[name]
            wanted = self.model.get_layer(name).dtype
            inputs[name] = tf.cast(value, wanted) if value.dtype != wanted else value
        prediction = self.model(inputs)
        return {F.PREDICTION_KEY: tf.reshape(prediction, [-1])}
