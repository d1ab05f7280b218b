"""babyweight.ui.mlmd_grpc_web: MetadataStoreService over gRPC-web, answered by the MLMD library.

The requests are the bytes the UI's generated gRPC-web client sends (binary format: a frame of
flag 0, length, message); the replies are read as that client reads them (a data frame, then a
trailer frame with grpc-status).
"""

from __future__ import annotations

from babyweight.ui import mlmd_grpc_web as web

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as service_pb


@pytest.fixture
def proxy(kfp_root):
    server, port = web.start_grpc(kfp_root / "metadata.sqlite")
    proxy = web.GrpcWebProxy(port, kfp_root)
    yield proxy
    proxy.close()
    server.stop(grace=None)


def call(proxy, method: str, request) -> tuple[bytes | None, dict]:
    reply = web.frames(proxy.call(method, web.frame(0, request.SerializeToString())))
    data = [p for flag, p in reply if flag == 0]
    trailer = [p for flag, p in reply if flag == web.TRAILER_FLAG]
    assert len(trailer) == 1 and len(data) <= 1
    fields = dict(line.split(":", 1) for line in trailer[0].decode().split("\r\n") if line)
    return (data[0] if data else None), fields


def test_every_method_of_the_service_is_forwarded():
    names = {m.name for m in web.SERVICE.methods}
    assert {"GetContextByTypeAndName", "GetExecutionsByContext", "GetArtifactsByID"} <= names
    assert all(callable(getattr(web.MlmdServicer, name)) for name in names)


def test_the_run_page_calls_answer_from_the_store(proxy, kfp_root):
    # frontend/src/pages/RunDetailsV2.tsx: the run context, its executions, artifacts, events.
    request = service_pb.GetContextByTypeAndNameRequest(
        type_name="system.PipelineRun", context_name="done"
    )
    data, trailer = call(proxy, "GetContextByTypeAndName", request)
    assert trailer == {"grpc-status": "0", "grpc-message": ""}
    context = service_pb.GetContextByTypeAndNameResponse.FromString(data).context
    assert context.name == "done"
    data, _ = call(
        proxy,
        "GetExecutionsByContext",
        service_pb.GetExecutionsByContextRequest(context_id=context.id),
    )
    executions = service_pb.GetExecutionsByContextResponse.FromString(data).executions
    tasks = {
        e.custom_properties["task_name"].string_value: e.last_known_state
        for e in executions
        if "task_name" in e.custom_properties
    }
    # the root DAG by its empty task_name (DynamicFlow.ts getExecutionLayers), then the tasks
    assert tasks == {
        "": pb.Execution.COMPLETE,
        "A": pb.Execution.COMPLETE,
        "B": pb.Execution.COMPLETE,
    }
    data, _ = call(
        proxy,
        "GetArtifactsByContext",
        service_pb.GetArtifactsByContextRequest(context_id=context.id),
    )
    (html,) = service_pb.GetArtifactsByContextResponse.FromString(data).artifacts
    # the URI as a cluster records it, which the UI can read through /artifacts/get
    assert html.uri == "minio://mlpipeline/v2/artifacts/babyweight/done/A/0/html"
    assert html.custom_properties["display_name"].string_value == "html"


def test_the_store_is_read_only(proxy):
    request = service_pb.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name="x"))
    data, trailer = call(proxy, "PutArtifactType", request)
    assert data is None and trailer["grpc-status"] != "0"
    assert "PutArtifactType" in trailer["grpc-message"]


def test_an_unknown_method_and_a_cut_frame_are_grpc_errors(proxy):
    _, trailer = call(proxy, "DropDatabase", service_pb.GetArtifactsRequest())
    assert trailer == {"grpc-status": "12", "grpc-message": "no method DropDatabase"}
    reply = web.frames(proxy.call("GetArtifacts", b"\x00\x00\x00\x00\x09abc"))
    assert reply == [
        (
            web.TRAILER_FLAG,
            b"grpc-status:3\r\ngrpc-message:a gRPC-web frame is shorter than its length\r\n",
        )
    ]
