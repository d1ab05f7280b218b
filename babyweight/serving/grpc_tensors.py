"""TensorProtos to and from the predict request's columns, checked the way TF Serving checks a
signature's inputs: every input present, the signature's dtype, one value per element.

Errors are RequestErrors (400) that name the input (`inputs.mother_age: ...`); the gRPC API
answers them as INVALID_ARGUMENT. Nothing here trusts a shape before counting the values that
are really in the tensor, so a shape of 10**12 elements with no values costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from babyweight import features as F
from babyweight.serving.requests import RequestError

import numpy as np

STRING_INPUTS = (F.IS_MALE, F.PLURALITY)  # DT_STRING in serving_default
INT64_INPUTS = (F.MOTHER_AGE, F.GESTATION_WEEKS)  # DT_INT64 in serving_default


def _dtype_name(enum: int) -> str:
    from tensorflow.core.framework import types_pb2

    try:
        return types_pb2.DataType.Name(enum)
    except ValueError:
        return f"dtype {enum}"


def _expected_dtype(key: str) -> int:
    from tensorflow.core.framework import types_pb2

    return types_pb2.DT_STRING if key in STRING_INPUTS else types_pb2.DT_INT64


def _values(key: str, tensor) -> list:
    """The values of a rank-1 tensor of the expected dtype, as Python str/int."""
    expected = _expected_dtype(key)
    if tensor.dtype != expected:
        raise RequestError(
            400,
            f"inputs.{key}: dtype {_dtype_name(tensor.dtype)}, expected {_dtype_name(expected)}",
        )
    dims = [d.size for d in tensor.tensor_shape.dim]
    if len(dims) != 1 or dims[0] < 0:
        raise RequestError(400, f"inputs.{key}: shape {dims}, expected one dimension [rows]")
    if key in STRING_INPUTS:
        raw = list(tensor.string_val)
        try:
            values = [v.decode("utf-8") for v in raw]
        except UnicodeDecodeError:
            raise RequestError(400, f"inputs.{key}: a value is not UTF-8 text") from None
    elif tensor.tensor_content:
        if len(tensor.tensor_content) % 8:
            raise RequestError(400, f"inputs.{key}: tensor_content is not whole int64 values")
        values = np.frombuffer(tensor.tensor_content, dtype="<i8").tolist()
    else:
        values = list(tensor.int64_val)
    if len(values) != dims[0]:
        raise RequestError(
            400, f"inputs.{key}: shape [{dims[0]}] but the tensor holds {len(values)} values"
        )
    return values


def tensors_to_columns(inputs: Mapping) -> dict[str, list]:
    """The predict request's `inputs` (name -> TensorProto) as columns of Python values, for
    requests.parse_predict_request's columnar format."""
    missing = [k for k in F.FEATURE_KEYS if k not in inputs]
    extra = sorted(k for k in inputs if k not in F.FEATURE_KEYS)
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"not an input of the signature: {', '.join(map(repr, extra))}"] if extra else []
        raise RequestError(
            400, f"inputs: {'; '.join(parts)} (inputs are {', '.join(F.FEATURE_KEYS)})"
        )
    return {key: _values(key, inputs[key]) for key in F.FEATURE_KEYS}


def predictions_tensor(predictions: list[float]):
    """The predictions as a float32 TensorProto of shape [rows] (built directly: a tenth of
    tf.make_tensor_proto's time for one row)."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(predictions))]
        ),
        tensor_content=np.asarray(predictions, dtype="<f4").tobytes(),
    )
