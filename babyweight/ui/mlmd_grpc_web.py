"""ML Metadata over gRPC-web, as the KFP UI reaches it through its envoy proxy.

Two parts, as on a cluster (metadata-grpc-server behind metadata-envoy):
- `MlmdServicer`: a gRPC server whose MetadataStoreService forwards every call, by its method
  name, to the MLMD library on the store file (`MetadataStore._call`, the C++ store the
  ml-metadata wheel ships), read-only. Built from the service descriptor, so no call is left out.
- `GrpcWebProxy`: the envoy part, gRPC-web (binary, `application/grpc-web+proto`, the format
  the UI's generated client uses: frontend/src/third_party/mlmd/generated/.../
  metadata_store_service_grpc_web_pb.js) to gRPC on loopback. Frames are a flag byte, a 4-byte
  big-endian length and the message; the reply ends with a trailer frame (flag 0x80).

One thing the proxy changes in what it passes back: an artifact URI under the pipeline root is
shown as the object store URI a cluster records (artifacts.bucket_uri), so the UI, which reads
only gs/s3/minio/http(s) URIs (frontend/src/lib/WorkflowParser.ts parseStoragePath), can preview
it through /artifacts/get.
"""

from __future__ import annotations

import struct
import threading
from concurrent import futures
from pathlib import Path

from babyweight.ui.artifacts import bucket_uri

import grpc
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as service_pb
from ml_metadata.proto import metadata_store_service_pb2_grpc as service_grpc

SERVICE = service_pb.DESCRIPTOR.services_by_name["MetadataStoreService"]
PATH_PREFIX = f"/{SERVICE.full_name}/"
CONTENT_TYPE = "application/grpc-web+proto"
TRAILER_FLAG = 0x80


def open_read_only(path: Path) -> metadata_store.MetadataStore:
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def message_class(descriptor):
    return getattr(service_pb, descriptor.name)


class MlmdServicer(service_grpc.MetadataStoreServiceServicer):
    """Every MetadataStoreService method, forwarded to the MLMD library (methods set below)."""

    def __init__(self, store: metadata_store.MetadataStore):
        self.store = store
        self.lock = threading.Lock()  # one call at a time into the store

    def forward(self, name: str, request, context):
        response = message_class(SERVICE.methods_by_name[name].output_type)()
        try:
            with self.lock:
                self.store._call(name, request, response)
        except Exception as e:  # MLMD's errors carry the gRPC status code they stand for
            code = getattr(e, "error_code", grpc.StatusCode.UNKNOWN.value[0])
            status = next(
                (s for s in grpc.StatusCode if s.value[0] == code), grpc.StatusCode.UNKNOWN
            )
            context.abort(status, f"{name}: {e}")
        return response


def _forwarding(name: str):
    def method(self, request, context):
        return self.forward(name, request, context)

    method.__name__ = name
    return method


for _method in SERVICE.methods:
    setattr(MlmdServicer, _method.name, _forwarding(_method.name))


def start_grpc(store_path: Path) -> tuple[grpc.Server, int]:
    """The MLMD gRPC server on loopback, on a free port: (server, port)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    service_grpc.add_MetadataStoreServiceServicer_to_server(
        MlmdServicer(open_read_only(store_path)), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def frames(body: bytes) -> list[tuple[int, bytes]]:
    """The (flag, payload) frames of a gRPC-web body; ValueError when one is cut short."""
    out, at = [], 0
    while at < len(body):
        if at + 5 > len(body):
            raise ValueError("a gRPC-web frame header is cut short")
        flag, size = struct.unpack(">BI", body[at : at + 5])
        payload = body[at + 5 : at + 5 + size]
        if len(payload) != size:
            raise ValueError("a gRPC-web frame is shorter than its length")
        out.append((flag, payload))
        at += 5 + size
    return out


def frame(flag: int, payload: bytes) -> bytes:
    return struct.pack(">BI", flag, len(payload)) + payload


def trailers(code: int, message: str) -> bytes:
    text = f"grpc-status:{code}\r\ngrpc-message:{message}\r\n"
    return frame(TRAILER_FLAG, text.encode())


def present(response, root: Path) -> None:
    """Artifact URIs under root, in place, as the object store URIs a cluster shows."""
    for field, value in response.ListFields():
        if field.message_type is None or field.message_type.full_name != "ml_metadata.Artifact":
            continue
        for artifact in value if field.label == field.LABEL_REPEATED else [value]:
            artifact.uri = bucket_uri(artifact.uri, root)


class GrpcWebProxy:
    """gRPC-web requests to the MLMD gRPC server: `call(method, body) -> reply body`; a failed
    call is a reply of its trailers only (HTTP 200, grpc-status in the trailer frame)."""

    def __init__(self, port: int, root: Path):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.root = root

    def call(self, name: str, body: bytes) -> bytes:
        method = SERVICE.methods_by_name.get(name)
        if method is None:
            return trailers(grpc.StatusCode.UNIMPLEMENTED.value[0], f"no method {name}")
        try:
            data = [p for flag, p in frames(body) if not flag & TRAILER_FLAG]
        except ValueError as e:
            return trailers(grpc.StatusCode.INVALID_ARGUMENT.value[0], str(e))
        stub = self.channel.unary_unary(
            PATH_PREFIX + name,
            request_serializer=None,
            response_deserializer=message_class(method.output_type).FromString,
        )
        try:
            response = stub(data[0] if data else b"", timeout=30)
        except grpc.RpcError as e:
            message = (e.details() or "").replace("\r", " ").replace("\n", " ")
            return trailers(e.code().value[0], message)
        present(response, self.root)
        return frame(0, response.SerializeToString()) + trailers(0, "")

    def close(self) -> None:
        self.channel.close()
