"""Stock clients of the serving APIs, for the tests: TF Serving's gRPC stubs and tritonclient.

Requests are built only with the clients' own helpers (tf.make_tensor_proto, InferInput), as a
user of those packages writes them."""

from __future__ import annotations

import babyweight  # noqa: F401

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

STRING_KEYS = ("is_male", "plurality")


def columns(rows: list[dict]) -> dict[str, np.ndarray]:
    return {
        key: np.array([r[key] for r in rows], dtype=object if key in STRING_KEYS else np.int64)
        for key in ("is_male", "mother_age", "plurality", "gestation_weeks")
    }


def predict_request(rows=None, *, name="babyweight", version=None, label=None, signature=""):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for key, values in columns(rows or []).items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(values))
    return request


class GrpcClient:
    """PredictionServiceStub and ModelServiceStub on one channel."""

    def __init__(self, target: str):
        self.channel = grpc.insecure_channel(
            target, options=[("grpc.max_send_message_length", 64 << 20)]
        )
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)

    def predict(self, request, timeout=30):
        response, call = self.predictions.Predict.with_call(request, timeout=timeout)
        return response, dict(call.initial_metadata())

    def predict_rows(self, rows, **spec) -> tuple[list[float], int]:
        response, _ = self.predict(predict_request(rows, **spec))
        values = tf.make_ndarray(response.outputs["predicted_weight_pounds"]).tolist()
        return values, response.model_spec.version.value

    def metadata(self, name="babyweight"):
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        request.model_spec.name = name
        request.metadata_field.append("signature_def")
        response = self.predictions.GetModelMetadata(request, timeout=30)
        defs = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(defs)
        return response, defs

    def status(self, name="babyweight", version=None, label=None):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = name
        if version is not None:
            request.model_spec.version.value = version
        if label is not None:
            request.model_spec.version_label = label
        return self.models.GetModelStatus(request, timeout=30)

    def close(self):
        self.channel.close()


def held_out_rows(every: int = 23) -> list[dict]:
    """Canonical rows of data/births.csv that the tiny run did not train on (it takes every
    TINY_ROWS_EVERY-th row from the first), every `every`-th of them."""
    import csv

    from babyweight.instances import InvalidInstance, parse_instance

    from helpers import REPO, TINY_ROWS_EVERY

    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = [r for j, r in enumerate(csv.DictReader(f)) if j % TINY_ROWS_EVERY]
    out = []
    for row in rows[::every]:
        try:
            out.append(parse_instance(row).as_dict())
        except InvalidInstance:
            continue
    return out
