"""TF Serving's gRPC API beside the REST one, answering from the same loaded versions and labels.

    tensorflow.serving.PredictionService/Predict           TensorProto inputs -> outputs
    tensorflow.serving.PredictionService/GetModelMetadata  signature_def, as the SavedModel has it
    tensorflow.serving.ModelService/GetModelStatus         the versions and their states

A request picks its version as a REST request does (serving/routing.py): ModelSpec.version, or
ModelSpec.version_label, or stable and canary by the rollout (the metadata key `x-rollout-key`
splits as the REST header X-Rollout-Key does). The answer's model_spec names the version that
made it; the initial metadata says `x-model-version`, `x-model-label` and `x-prediction-source`.

Status codes are TF Serving's: INVALID_ARGUMENT naming the field for a bad input,
NOT_FOUND for an unknown model, version or label, FAILED_PRECONDITION for an unknown signature
key, RESOURCE_EXHAUSTED for a message over --max-body-bytes (gRPC's own check), UNAVAILABLE
while no version is loaded. A bad request never answers UNKNOWN or INTERNAL.
"""

from __future__ import annotations

import logging
import time
from concurrent import futures

from babyweight import features as F
from babyweight.serving.grpc_tensors import predictions_tensor, tensors_to_columns
from babyweight.serving.requests import RequestError, parse_predict_request
from babyweight.serving.routing import ROLLOUT_KEY_HEADER

import grpc
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

log = logging.getLogger("babyweight.serving")

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
    405: grpc.StatusCode.UNIMPLEMENTED,
    412: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}
_HTTP_OF = {code: status for status, code in _CODES.items()}  # metrics count HTTP-like codes
_HTTP_OF[grpc.StatusCode.INTERNAL] = 500
_STATES = get_model_status_pb2.ModelVersionStatus.State
_ERROR_CODES = {"OK": 0, "UNKNOWN": 2}  # tensorflow.error.Code


def _abort(context, error: RequestError):
    context.abort(_CODES.get(error.status, grpc.StatusCode.INVALID_ARGUMENT), error.message)


def _version_and_label(spec, model_name: str) -> tuple[int | None, str | None]:
    """The version or label a ModelSpec asks for; RequestError 404 for another model."""
    if spec.name != model_name:
        raise RequestError(404, f"Servable not found: model {spec.name!r} is not served")
    which = spec.WhichOneof("version_choice")
    if which == "version":
        return spec.version.value, None
    if which == "version_label":  # the router names an unknown one (cut when long)
        return None, spec.version_label
    return None, None


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict and GetModelMetadata over the REST server's registry and router."""

    def __init__(self, server, metrics=None):
        self.server, self.metrics = server, metrics

    def Predict(self, request, context):  # noqa: N802 (gRPC's name)
        start, version, label, code = time.perf_counter(), "", "", grpc.StatusCode.OK
        try:
            wanted, wanted_label = _version_and_label(request.model_spec, self.server.model_name)
            signature = request.model_spec.signature_name or F.RAW_SIGNATURE
            if signature != F.RAW_SIGNATURE:
                raise RequestError(
                    412,
                    f'Serving signature key "{signature}" not found. (signature_name: the '
                    f"predict API serves {F.RAW_SIGNATURE!r}, raw features)",
                )
            columns = tensors_to_columns(request.inputs)
            instances, _ = parse_predict_request({"inputs": columns})
            key = dict(context.invocation_metadata()).get(ROLLOUT_KEY_HEADER.lower())
            model, label = self.server.router.pick(wanted, wanted_label, key)
            version = model.version
            answered = self.server.table_answer(model, instances, label)
            predictions, source = answered or self.server.predict_sourced(model, instances, label)
            context.send_initial_metadata(
                (
                    ("x-model-version", model.version),
                    ("x-model-label", label or ""),
                    ("x-prediction-source", source),
                )
            )
            response = predict_pb2.PredictResponse()
            response.model_spec.name = self.server.model_name
            response.model_spec.version.value = int(model.version)
            response.model_spec.signature_name = signature
            response.outputs[F.PREDICTION_KEY].CopyFrom(predictions_tensor(predictions))
            return response
        except RequestError as e:
            code = _CODES.get(e.status, grpc.StatusCode.INVALID_ARGUMENT)
            _abort(context, e)
        except Exception as e:  # a bug, not the request: logged, answered as REST's 500 is
            code = grpc.StatusCode.INTERNAL
            log.exception("unexpected error in Predict")
            context.abort(code, f"internal error: {type(e).__name__}")
        finally:
            if self.metrics is not None:
                self.metrics.observe("grpc", version, label or "", _HTTP_OF.get(code, 200), start)

    def GetModelMetadata(self, request, context):  # noqa: N802
        try:
            wanted, label = _version_and_label(request.model_spec, self.server.model_name)
            fields = list(request.metadata_field)
            if fields != ["signature_def"]:
                raise RequestError(
                    400, f"metadata_field: {fields!r}; the one field served is ['signature_def']"
                )
            model, _ = self.server.router.pick(wanted, label)
        except RequestError as e:
            _abort(context, e)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = self.server.model_name
        response.model_spec.version.value = int(model.version)
        response.metadata["signature_def"].Pack(signature_def_map(model.path))
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """GetModelStatus, from the same states as REST's /v1/models/NAME."""

    def __init__(self, server):
        self.server = server

    def GetModelStatus(self, request, context):  # noqa: N802
        try:
            version, label = _version_and_label(request.model_spec, self.server.model_name)
            if label is not None:
                version = self.server.router.labelled_version(label)
            status = self.server.status(version)
        except RequestError as e:
            _abort(context, e)
        response = get_model_status_pb2.GetModelStatusResponse()
        for entry in status["model_version_status"]:
            one = response.model_version_status.add()
            one.version = int(entry["version"])
            one.state = _STATES.Value(entry["state"])
            one.status.error_code = _ERROR_CODES.get(entry["status"]["error_code"], 2)
            one.status.error_message = entry["status"]["error_message"]
        return response


_SIGNATURE_DEFS: dict = {}


def signature_def_map(version_dir):
    """The SavedModel's own SignatureDefs (read from saved_model.pb once per version)."""
    key = str(version_dir)
    if key not in _SIGNATURE_DEFS:
        from tensorflow.core.protobuf import saved_model_pb2

        saved = saved_model_pb2.SavedModel()
        saved.ParseFromString((version_dir / "saved_model.pb").read_bytes())
        result = get_model_metadata_pb2.SignatureDefMap()
        for name, sig in saved.meta_graphs[0].signature_def.items():
            if not name.startswith("__"):  # __saved_model_init_op is no signature to call
                result.signature_def[name].CopyFrom(sig)
        _SIGNATURE_DEFS[key] = result
    return _SIGNATURE_DEFS[key]


def start_grpc(server, host: str, port: int, *, metrics=None, workers: int = 8):
    """Start the gRPC API on host:port beside the REST one; returns the grpc.Server (stop() it).
    Messages over the REST body limit are refused by gRPC with RESOURCE_EXHAUSTED."""
    limit = max(server.max_body_bytes, 4096)
    grpc_server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc"),
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", 64 << 20),
            ("grpc.so_reuseport", 0),
        ],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(server, metrics), grpc_server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(server), grpc_server)
    bound = grpc_server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(f"--grpc-port: could not listen on {host}:{port}")
    grpc_server.start()
    return grpc_server
