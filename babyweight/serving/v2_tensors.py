"""The Open Inference Protocol's (v2) tensors: JSON and binary inputs to the predict request's
columns, and the FP32 output, JSON or binary.

An input is {"name", "shape", "datatype", "data"}: is_male and plurality are BYTES,
mother_age and gestation_weeks INT64 (INT32 and FP32 are read too; the schema's checks say
whether a value is a whole number in range). `data` is flat or nested row-major, and the shape
must hold exactly its values: [rows] or [rows, 1].

The binary-tensor extension (Triton's, which tritonclient uses by default): the header
`Inference-Header-Content-Length: N` says the first N bytes are the JSON; each input with the
parameter binary_data_size takes that many of the following bytes, in order (BYTES as a 4-byte
little-endian length and the bytes, numbers little-endian). The output is binary when the request
asks for it (the parameter binary_data_output, or binary_data on a requested output).

Errors are RequestErrors (400) naming the input and the problem.
"""

from __future__ import annotations

import json
import struct

from babyweight import features as F
from babyweight.serving.requests import RequestError

import numpy as np

BINARY_HEADER = "Inference-Header-Content-Length"
DATATYPES = {  # every datatype of the protocol, and numpy's little-endian dtype of each
    "BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8",
    "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8",
    "FP16": "<f2", "FP32": "<f4", "FP64": "<f8", "BYTES": None,
}  # fmt: skip
ACCEPTED = {  # the datatypes each input is read from; the first is the one metadata gives
    F.IS_MALE: ("BYTES",),
    F.PLURALITY: ("BYTES",),
    F.MOTHER_AGE: ("INT64", "INT32", "FP32"),
    F.GESTATION_WEEKS: ("INT64", "INT32", "FP32"),
}
OUTPUT_DATATYPE = "FP32"


def split_body(body: bytes, header_length: str | None) -> tuple[dict, bytes]:
    """(the JSON request, the binary data after it)."""
    if header_length is None:
        json_part, binary = body, b""
    else:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise RequestError(
                400, f"{BINARY_HEADER}: {header_length[:20]!r} is not a length within the body"
            )
        json_part, binary = body[: int(header_length)], body[int(header_length) :]
    try:
        payload = json.loads(json_part)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise RequestError(400, f"request body: malformed JSON: {str(e)[:200]}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise RequestError(400, "request body: expected an object with a list of 'inputs'")
    return payload, binary


def _flat(data) -> list:
    if isinstance(data, list):
        return [v for item in data for v in _flat(item)]
    return [data]


_FITS = object()


def _json_fits(datatype: str, value) -> bool:
    if datatype == "BYTES":
        return isinstance(value, str)
    if datatype.startswith("FP"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool)


def _binary_values(where: str, datatype: str, raw: bytes) -> list:
    if datatype != "BYTES":
        size = np.dtype(DATATYPES[datatype]).itemsize
        if len(raw) % size:
            raise RequestError(400, f"{where}: {len(raw)} bytes are not whole {datatype} values")
        return np.frombuffer(raw, dtype=DATATYPES[datatype]).tolist()
    values, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise RequestError(400, f"{where}: BYTES data cut inside a length")
        (n,) = struct.unpack_from("<I", raw, at)
        if at + 4 + n > len(raw):
            raise RequestError(400, f"{where}: BYTES data cut inside a value")
        values.append(raw[at + 4 : at + 4 + n])
        at += 4 + n
    return values


def _read_input(i: int, tensor, binary: bytes, at: int) -> tuple[str, list, int]:
    """(name, values, where the next binary input starts)."""
    where = f"inputs[{i}]"
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise RequestError(400, f"{where}: expected an object with a 'name'")
    name, datatype, shape = tensor["name"], tensor.get("datatype"), tensor.get("shape")
    where = f"inputs[{i}] ({name})"
    if name not in ACCEPTED:
        raise RequestError(400, f"{where}: not an input of the model ({', '.join(ACCEPTED)})")
    if datatype not in DATATYPES:
        raise RequestError(400, f"{where}: unknown datatype {str(datatype)[:20]!r}")
    if datatype not in ACCEPTED[name]:
        raise RequestError(400, f"{where}: datatype {datatype}, expected {ACCEPTED[name][0]}")
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise RequestError(400, f"{where}: shape must be a list of sizes, got {str(shape)[:40]}")
    size = (tensor.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if type(size) is not int or size < 0 or at + size > len(binary):
            raise RequestError(400, f"{where}: binary_data_size {size} is past the body's end")
        values, at = _binary_values(where, datatype, binary[at : at + size]), at + size
    elif "data" in tensor:
        values = _flat(tensor["data"])
        wrong = next((v for v in values if not _json_fits(datatype, v)), _FITS)
        if wrong is not _FITS:
            raise RequestError(400, f"{where}: {str(wrong)[:40]!r} in data is not {datatype}")
    else:
        raise RequestError(400, f"{where}: no 'data' (and no binary_data_size)")
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise RequestError(400, f"{where}: shape {shape}, expected [rows] or [rows, 1]")
    if shape[0] != len(values):
        raise RequestError(400, f"{where}: shape {shape} but data holds {len(values)} values")
    if datatype == "BYTES":
        try:
            values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
        except UnicodeDecodeError:
            raise RequestError(400, f"{where}: a BYTES value is not UTF-8 text") from None
    return name, values, at


def inputs_to_columns(payload: dict, binary: bytes) -> dict[str, list]:
    """The request's inputs as columns of raw values, for parse_predict_request."""
    columns, at = {}, 0
    for i, tensor in enumerate(payload["inputs"]):
        name, values, at = _read_input(i, tensor, binary, at)
        if name in columns:
            raise RequestError(400, f"inputs[{i}] ({name}): given twice")
        columns[name] = values
    missing = [k for k in F.FEATURE_KEYS if k not in columns]
    if missing:
        raise RequestError(400, f"inputs: missing {', '.join(missing)}")
    return columns


def wants_binary(payload: dict) -> bool:
    params = payload.get("parameters") or {}
    outputs = payload.get("outputs") or []
    return bool(params.get("binary_data_output")) or any(
        isinstance(o, dict) and (o.get("parameters") or {}).get("binary_data") for o in outputs
    )


def infer_response(head: dict, predictions: list[float], binary: bool) -> tuple[bytes, dict]:
    """(body, extra headers) of an infer answer."""
    output = {"name": F.PREDICTION_KEY, "datatype": OUTPUT_DATATYPE, "shape": [len(predictions)]}
    if not binary:
        output["data"] = predictions
        return json.dumps({**head, "outputs": [output]}).encode(), {}
    raw = np.asarray(predictions, dtype="<f4").tobytes()
    output["parameters"] = {"binary_data_size": len(raw)}
    header = json.dumps({**head, "outputs": [output]}).encode()
    return header + raw, {BINARY_HEADER: str(len(header))}
