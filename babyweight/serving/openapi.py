"""The OpenAPI 3 document of the REST server (served at /openapi.json), built from the table.

Feature names, categories, spellings and integer ranges come from the table of features
(babyweight/features.py), so the document says exactly what babyweight.instances accepts. The
server is more lenient than the document in two documented ways: category strings are
case-insensitive, and whole numbers may come as strings ("26").
"""

from __future__ import annotations

from babyweight import features as F
from babyweight.serving.rollout import LABELS
from babyweight.serving.routing import MAX_VERSION, ROLLOUT_KEY_HEADER

JSON = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def feature_schema(feature: F.Feature) -> dict:
    """The JSON schema of one raw feature: a category by its spellings (strings, the whole
    numbers among them, JSON booleans where they are one), or a whole number in its range."""
    if not feature.categorical:
        lo, hi = feature.domain
        return {
            "description": f"{feature.description}, a whole number in the schema's range {lo}-{hi}",
            "type": "integer",
            "minimum": lo,
            "maximum": hi,
            "example": feature.example,
        }
    others = sorted({s for s in feature.spellings if s} - set(feature.domain))
    spellings = [*feature.domain, *others]
    numbers = sorted(int(s) for s in feature.spellings if s.isdigit())
    alternatives = [{"type": "string", "enum": spellings}]
    if feature.takes_booleans:
        alternatives.append({"type": "boolean"})
    if numbers:
        alternatives.append({"type": "integer", "enum": numbers})
    return {
        "description": feature.description,
        "anyOf": alternatives,
        "example": feature.example,
    }


def feature_schemas() -> dict[str, dict]:
    """One JSON schema per raw feature, in the table's order."""
    return {f.name: feature_schema(f) for f in F.FEATURES}


NUMBERS = {"type": "array", "items": {"type": "number"}}
# The answers' schemas, as TF Serving's REST API writes them.
RESPONSE_SCHEMAS = {
    "Predictions": {
        "type": "object",
        "properties": {"predictions": NUMBERS, "outputs": NUMBERS},
        "minProperties": 1,
        "maxProperties": 1,
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "errors": {
                "type": "array",
                "description": "every wrong field, when the request had any",
                "items": {
                    "type": "object",
                    "required": ["field", "reason"],
                    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                },
            },
        },
    },
    "Status": {
        "type": "object",
        "required": ["model_version_status"],
        "properties": {
            "model_version_status": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["version", "state", "status"],
                    "properties": {
                        "version": {"type": "string"},
                        "state": {"type": "string"},
                        "status": {
                            "type": "object",
                            "properties": {
                                "error_code": {"type": "string"},
                                "error_message": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    },
    "Metadata": {
        "type": "object",
        "required": ["model_spec", "metadata"],
        "properties": {"model_spec": {"type": "object"}, "metadata": {"type": "object"}},
    },
}
VERSION_PARAM = {
    "name": "version",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
    "description": "a model version (the Pusher's directory name), a 64-bit integer",
}
LABEL_PARAM = {
    "name": "label",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": list(LABELS)},
    "description": "a version label, as TF Serving's; `babyweight rollout` moves them",
}
KEY_PARAM = {
    "name": ROLLOUT_KEY_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "a client's key (a user, a session): unlabelled requests with one key "
    "always go to one version while the labels stay as they are",
}
BAD_VERSION = (400, "a version that is not a 64-bit whole number")
NOT_FOUND = (404, "no such model, version or label")
NOT_LOADED = (503, "no version loaded yet")


def _errors(*codes_and_reasons) -> dict:
    """Documented error answers: {status: {description, the Error schema}}."""
    content = {JSON: {"schema": _ref("Error")}}
    return {str(code): {"description": why, "content": content} for code, why in codes_and_reasons}


def _get(summary: str, what: str, schema: str, *errors) -> dict:
    answer = {"description": what, "content": {JSON: {"schema": _ref(schema)}}}
    return {"get": {"summary": summary, "responses": {"200": answer, **_errors(*errors)}}}


def predict_request_schema(features: dict[str, dict]) -> dict:
    """TF Serving's two predict bodies: rows {instances: [...]} or columns {inputs: {...}}."""
    signature = {"type": "string", "enum": [F.RAW_SIGNATURE]}
    rows = {
        "type": "object",
        "required": ["instances"],
        "properties": {
            "signature_name": signature,
            "instances": {"type": "array", "minItems": 1, "items": _ref("Instance")},
        },
        "not": {"required": ["inputs"]},
    }
    columns = {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "signature_name": signature,
            "inputs": {
                "type": "object",
                "description": "one list per feature, all of the same length",
                "required": list(features),
                "properties": {
                    name: {"type": "array", "minItems": 1, "items": schema}
                    for name, schema in features.items()
                },
            },
        },
        "not": {"required": ["instances"]},
    }
    return {"oneOf": [rows, columns]}


def predict_operation(features: dict[str, dict], max_body_bytes: int) -> dict:
    answer = {
        "description": "one prediction per row, in pounds",
        "content": {JSON: {"schema": _ref("Predictions")}},
    }
    errors = _errors(
        (400, "malformed JSON, a missing or wrong feature; names every one"),
        NOT_FOUND,
        (413, f"body over {max_body_bytes} bytes"),
        NOT_LOADED,
    )
    return {
        "post": {
            "summary": "Predict birth weight in pounds (TF Serving Predict)",
            "description": "Row format {instances: [...]} answers {predictions: [...]}; columnar "
            "format {inputs: {...}} answers {outputs: [...]}. Pounds, one per row. Without a "
            "version or label the stable version answers, or the canary for its share.",
            "parameters": [KEY_PARAM],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": predict_request_schema(features)}},
            },
            "responses": {"200": answer, **errors},
        }
    }


def paths(model_name: str, max_body_bytes: int, features: dict[str, dict]) -> dict:
    """Status, metadata and predict, each for the model, a version and a label."""
    status = _get(
        "Version status (TF Serving GetModelStatus)", "status", "Status", BAD_VERSION, NOT_FOUND
    )
    metadata = _get(
        "Signatures of a version (TF Serving GetModelMetadata)",
        "metadata",
        "Metadata",
        BAD_VERSION,
        NOT_FOUND,
        NOT_LOADED,
    )
    predict = predict_operation(features, max_body_bytes)
    found = {}
    for prefix, param in (
        ("", None),
        ("/versions/{version}", VERSION_PARAM),
        ("/labels/{label}", LABEL_PARAM),
    ):
        base = f"/v1/models/{model_name}{prefix}"
        params = {"parameters": [param]} if param else {}
        found[base] = {**params, **status}
        found[f"{base}/metadata"] = {**params, **metadata}
        found[f"{base}:predict"] = {**params, **predict}
    return found


def openapi_document(model_name: str, max_body_bytes: int) -> dict:
    """The whole document; the request schemas loop over the table of features."""
    features = feature_schemas()
    instance = {"type": "object", "required": list(features), "properties": features}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{model_name}: TF Serving-compatible REST API",
            "version": "1",
            "description": "Raw features in, birth weight in pounds out.",
        },
        "paths": paths(model_name, max_body_bytes, features),
        "components": {"schemas": {"Instance": instance, **RESPONSE_SCHEMAS}},
    }
