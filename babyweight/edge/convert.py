"""The edge model to TFLite, built-in ops only, in four variants.

- float32: the model as it is.
- dynamic_range: weights stored as int8, computations in float.
- float16: weights stored as float16.
- int8: full-integer quantisation; activation ranges come from a representative dataset (rows
  of the train split). Inputs and output stay float32/int32 so an app calls every variant the
  same way; ops without an int8 kernel (Bucketize, the int codes) stay as they are.

Conversion allows TFLite built-in ops only (no SELECT_TF_OPS, so no Flex delegate and no
TensorFlow on the device). A graph holding any other op is refused with NotBuiltinOpError,
which names the ops.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from babyweight.errors import BabyweightError, ExitCode

import tensorflow as tf

VARIANTS = ("float32", "dynamic_range", "float16", "int8")
INT8_VARIANTS = ("int8",)
REPRESENTATIVE_ROWS = 500


class NotBuiltinOpError(BabyweightError):
    """The graph holds ops that are not TFLite built-ins."""

    def __init__(self, ops: list[str], detail: str = ""):
        self.ops = ops
        named = ", ".join(ops) if ops else "unknown ops"
        super().__init__(
            f"edge conversion refused: not TFLite built-in ops: {named}"
            f"{f' ({detail})' if detail else ''}",
            code=ExitCode.FAILED,
        )


def _refused_ops(message: str) -> list[str]:
    """The TF op names a converter error lists ('tf.StringLower' ...)."""
    return sorted(set(re.findall(r"\btf\.([A-Z][A-Za-z0-9]+)", message)))


def converter(function, module, variant: str, representative: Callable | None = None):
    """A TFLiteConverter for `function` (a concrete function of `module`), set for `variant`."""
    conv = tf.lite.TFLiteConverter.from_concrete_functions([function], module)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "float32":
        return conv
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        conv.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        if representative is None:
            raise ValueError("the int8 variant needs a representative dataset")
        conv.representative_dataset = representative
    elif variant != "dynamic_range":
        raise ValueError(f"variant {variant!r}: must be one of {VARIANTS}")
    return conv


def convert(function, module, variant: str = "float32", representative=None) -> bytes:
    """TFLite flatbuffer bytes; NotBuiltinOpError when an op is not a built-in."""
    try:
        return converter(function, module, variant, representative).convert()
    except Exception as e:  # the converter raises ConverterError or a bare Exception
        message = str(e)
        if "Flex" in message or "not supported" in message or "illegal" in message:
            raise NotBuiltinOpError(_refused_ops(message)) from None
        raise


def representative_dataset(rows: Iterable[dict]) -> Callable:
    """TFLite's representative_dataset: one row (dict of 1-element arrays) at a time."""
    rows = list(rows)

    def generate():
        yield from rows

    return generate
