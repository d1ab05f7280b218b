"""Request bodies: TF Serving's row and columnar predict formats to Instances, with limits.

Every error is a RequestError with the HTTP status and a message that names the field. A value
the client sent is echoed through `shown()`, so no answer grows with what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from babyweight import features as F
from babyweight.errors import UsageError
from babyweight.instances import Instance, InvalidInstance, parse_instance
from babyweight.values import InvalidValue

# A request with many bad rows names this many wrong fields, then says how many more there are.
MAX_REPORTED_ERRORS = 20
MAX_SHOWN = 40  # characters of a value echoed in a message; longer ones are cut (shown())


def shown(value) -> str:
    """A value from the request (a model name, a label, a path part), for a message: its repr,
    cut with its length when the text is over MAX_SHOWN characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= MAX_SHOWN:
        return repr(value)
    return f"{text[: MAX_SHOWN * 3 // 5]!r}... ({len(text)} characters)"


class RequestError(UsageError):
    """A request the server cannot serve; `status` is the HTTP status, the message says why.
    `errors` lists each wrong field ({"field", "reason"}) when there are any."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None):
        self.status, self.message, self.errors = status, message, errors
        super().__init__(message)

    def body(self) -> dict:
        """The JSON answer: TF Serving's {"error": ...}, and every wrong field under "errors"."""
        return {"error": self.message, **({"errors": self.errors} if self.errors else {})}


def parse_predict_request(payload) -> tuple[list[Instance], bool]:
    """(instances, columnar) from a predict request body, or RequestError naming the field."""
    if not isinstance(payload, Mapping):
        raise RequestError(400, "request body: expected a JSON object with 'instances' or 'inputs'")
    signature = payload.get("signature_name", F.RAW_SIGNATURE)
    if signature != F.RAW_SIGNATURE:
        raise RequestError(
            400,
            f"signature_name: {shown(signature)} is not served; "
            f"use {F.RAW_SIGNATURE!r} (raw features)",
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
        raise _every_field_error(e.errors) from None


def _every_field_error(errors: list[InvalidValue]) -> RequestError:
    """One 400 naming every wrong field of every row (up to MAX_REPORTED_ERRORS of them)."""
    shown = errors[:MAX_REPORTED_ERRORS]
    message = "; ".join(str(e) for e in shown)
    if len(errors) > len(shown):
        message += f"; and {len(errors) - len(shown)} more wrong fields"
    return RequestError(400, message, [{"field": e.field, "reason": e.reason} for e in shown])


def _parse_all(rows, parse) -> list[Instance]:
    """parse(i, row) for every row; InvalidInstance naming every wrong field of every row."""
    instances, errors = [], []
    for i, row in enumerate(rows):
        try:
            instances.append(parse(i, row))
        except InvalidInstance as e:
            errors.extend(e.errors)
    if errors:
        raise InvalidInstance.of(errors)
    return instances


def _column_row(i: int, row: dict) -> Instance:
    try:
        return parse_instance(row)
    except InvalidInstance as e:  # named as the client sent it: inputs.<feature>[<row>]
        raise InvalidInstance.of(
            [InvalidValue(f"inputs.{err.field}[{i}]", err.value, err.reason) for err in e.errors]
        ) from None


def _rows(rows) -> list[Instance]:
    if not isinstance(rows, list):
        raise InvalidInstance("instances", rows, "expected a list of objects, one per row")
    if not rows:
        raise InvalidInstance("instances", rows, "empty list; send at least one row")
    return _parse_all(rows, lambda i, row: parse_instance(row, prefix=f"instances[{i}]."))


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
    rows = [{k: columns[k][i] for k in F.FEATURE_KEYS} for i in range(n)]
    return _parse_all(rows, _column_row)


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
    try:  # JSON over HTTP is UTF-8 (RFC 8259); json.loads would also guess UTF-16 and -32
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"request body: not UTF-8 (byte offset {e.start})") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise RequestError(400, f"request body: malformed JSON: {e}") from None
    except RecursionError:
        raise RequestError(400, "request body: malformed JSON: nested too deeply") from None
