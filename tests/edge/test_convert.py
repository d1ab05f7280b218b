"""babyweight/edge/convert.py: built-in ops only, so a non-built-in op is refused by name."""

import babyweight  # noqa: F401  (Keras 2 before TensorFlow)
from babyweight.edge.convert import NotBuiltinOpError, convert
from babyweight.errors import BabyweightError

import pytest
import tensorflow as tf


class _Module(tf.Module):
    """What the served signature does before the model: strings cleaned, values bucketed."""

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.float32)]
    )
    def f(self, is_male, age):
        male = tf.cast(tf.equal(tf.strings.lower(tf.strings.strip(is_male)), "true"), tf.float32)
        buckets = tf.raw_ops.UpperBound(
            sorted_inputs=tf.constant([[20.0, 30.0]]), values=tf.reshape(age, [1, -1])
        )
        return {"y": male + tf.cast(buckets[0], tf.float32)}


class _Builtin(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def f(self, age):
        ids = tf.raw_ops.Bucketize(input=age, boundaries=[20.0, 30.0])
        return {"y": tf.reduce_sum(tf.one_hot(ids, 3), axis=-1)}


def test_a_non_builtin_op_is_refused_with_its_name():
    module = _Module()
    with pytest.raises(NotBuiltinOpError) as refused:
        convert(module.f.get_concrete_function(), module)
    message = str(refused.value)
    assert "StringLower" in message and "StringStrip" in message and "UpperBound" in message
    assert "\n" not in message
    assert isinstance(refused.value, BabyweightError)
    assert refused.value.ops == ["StringLower", "StringStrip", "UpperBound"]


def test_the_builtin_replacements_convert():
    module = _Builtin()
    content = convert(module.f.get_concrete_function(), module)
    assert content[4:8] == b"TFL3"  # a TFLite flatbuffer


def test_the_served_signature_itself_is_refused(pushed_model_dir):
    """The regression this export exists for: the SavedModel's serving_default needs four ops
    that are not built-ins (its string cleaning, Transform's buckets, Keras's one-hot)."""
    loaded = tf.saved_model.load(str(pushed_model_dir))
    served = loaded.signatures["serving_default"]
    with pytest.raises(NotBuiltinOpError) as refused:
        convert(served, loaded)
    for op in ("StringLower", "StringStrip", "UpperBound", "DenseBincount"):
        assert op in str(refused.value)
