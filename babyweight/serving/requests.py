"""Request bodies: TF Serving's row and columnar predict formats to Instances, with limits.

Every error is a RequestError with the HTTP status and a message that names the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from babyweight import features as F
from babyweight.instances import Instance, InvalidInstance, parse_instance


class RequestError(Exception):
    """A request the server cannot serve; `status` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


def parse_predict_request(payload) -> tuple[list[Instance], bool]:
    """(instances, columnar) from a predict request body, or RequestError naming the field."""
    if not isinstance(payload, Mapping):
        raise RequestError(400, "request body: expected a JSON object with 'instances' or 'inputs'")
    signature = payload.get("signature_name", F.RAW_SIGNATURE)
    if signature != F.RAW_SIGNATURE:
        raise RequestError(
            400,
            f"signature_name: {signature!r} is not served; use {F.RAW_SIGNATURE!r} (raw features)",
        )
    if ("instances" in payload) == ("inputs" in payload):
        raise RequestError(
            400, "request body: expected exactly one of 'instances' (rows) or 'inputs' (columns)"
        )
    try:
        if "instances" in payload:
            return _rows(payload["instances"]), False
        return _columns(payload["inputs"]), True
    except InvalidInstance as e:
        raise RequestError(400, str(e)) from None


def _rows(rows) -> list[Instance]:
    if not isinstance(rows, list):
        raise InvalidInstance("instances", rows, "expected a list of objects, one per row")
    if not rows:
        raise InvalidInstance("instances", rows, "empty list; send at least one row")
    return [parse_instance(row, prefix=f"instances[{i}].") for i, row in enumerate(rows)]


def _columns(columns) -> list[Instance]:
    if not isinstance(columns, Mapping):
        raise InvalidInstance("inputs", columns, "expected an object of lists, one per feature")
    for key in F.FEATURE_KEYS:
        if key not in columns:
            raise InvalidInstance(f"inputs.{key}", None, "missing")
        if not isinstance(columns[key], list):
            raise InvalidInstance(f"inputs.{key}", columns[key], "expected a list of values")
    n = len(columns[F.FEATURE_KEYS[0]])
    if n == 0:
        raise InvalidInstance(f"inputs.{F.FEATURE_KEYS[0]}", [], "empty list; send at least one")
    for key in F.FEATURE_KEYS[1:]:
        if len(columns[key]) != n:
            raise InvalidInstance(
                f"inputs.{key}",
                f"{len(columns[key])} values",
                f"every feature needs as many values as inputs.{F.FEATURE_KEYS[0]} ({n})",
            )
    instances = []
    for i in range(n):
        try:
            instances.append(parse_instance({k: columns[k][i] for k in F.FEATURE_KEYS}))
        except InvalidInstance as e:
            raise InvalidInstance(f"inputs.{e.field}[{i}]", e.value, e.reason) from None
    return instances


async def read_body(request, max_bytes: int) -> bytes:
    """The body, or 413 as soon as it is over `max_bytes` (with or without Content-Length)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise RequestError(413, _too_large(int(length), max_bytes))
    body, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(413, _too_large(size, max_bytes))
        body.append(chunk)
    return b"".join(body)


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"request body: {size} bytes or more, over the limit of {max_bytes} bytes; "
        "send fewer rows per request"
    )


async def read_json(request, max_bytes: int):
    body = await read_body(request, max_bytes)
    if not body.strip():
        raise RequestError(400, "request body: empty; expected JSON")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise RequestError(400, f"request body: malformed JSON: {e}") from None
    except RecursionError:
        raise RequestError(400, "request body: malformed JSON: nested too deeply") from None
