"""The OpenAPI 3 document of the REST server (served at /openapi.json), built from the schema.

Feature names, categories and integer ranges come from babyweight/features.py and the curated
schema, so the document says exactly what babyweight.instances accepts in its canonical
spellings. The server is more lenient than the document in two documented ways: category
strings are case-insensitive, and whole numbers may come as strings ("26").
"""

from __future__ import annotations

from babyweight import features as F
from babyweight.schema import integer_domains
from babyweight.serving.rollout import LABELS
from babyweight.serving.routing import MAX_VERSION, ROLLOUT_KEY_HEADER

JSON = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def feature_schemas() -> dict[str, dict]:
    """One JSON schema per raw feature."""
    domains = integer_domains()
    spellings = sorted({*F.IS_MALE_VALUES, *(s for s in F.IS_MALE_SPELLINGS if s)})
    schemas = {
        F.IS_MALE: {
            "description": "the baby's sex: True (male), False (female) or Unknown",
            "anyOf": [
                {"type": "string", "enum": spellings},
                {"type": "boolean"},
                {"type": "integer", "enum": [0, 1]},
            ],
        },
        F.PLURALITY: {
            "description": "number of babies born at once; Multiple(2+) when not known",
            "anyOf": [
                {
                    "type": "string",
                    "enum": [*F.PLURALITY_VALUES, *(str(i + 1) for i in range(F.MAX_PLURALITY))],
                },
                {"type": "integer", "minimum": 1, "maximum": F.MAX_PLURALITY},
            ],
        },
    }
    for name, unit in ((F.MOTHER_AGE, "years"), (F.GESTATION_WEEKS, "weeks")):
        lo, hi = domains[name]
        schemas[name] = {
            "description": f"{unit}, a whole number in the schema's range {lo}-{hi}",
            "type": "integer",
            "minimum": lo,
            "maximum": hi,
        }
    return schemas


def openapi_document(model_name: str, max_body_bytes: int) -> dict:
    features = feature_schemas()
    error = {"description": "", "content": {JSON: {"schema": _ref("Error")}}}

    def errors(*codes_and_reasons) -> dict:
        return {str(code): {**error, "description": why} for code, why in codes_and_reasons}

    signature = {"type": "string", "enum": [F.RAW_SIGNATURE]}
    row_request = {
        "type": "object",
        "required": ["instances"],
        "properties": {
            "signature_name": signature,
            "instances": {"type": "array", "minItems": 1, "items": _ref("Instance")},
        },
        "not": {"required": ["inputs"]},
    }
    columnar_request = {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "signature_name": signature,
            "inputs": {
                "type": "object",
                "description": "one list per feature, all of the same length",
                "required": list(F.FEATURE_KEYS),
                "properties": {
                    k: {"type": "array", "minItems": 1, "items": features[k]}
                    for k in F.FEATURE_KEYS
                },
            },
        },
        "not": {"required": ["instances"]},
    }
    version_param = {
        "name": "version",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
        "description": "a model version (the Pusher's directory name), a 64-bit integer",
    }
    label_param = {
        "name": "label",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(LABELS)},
        "description": "a version label, as TF Serving's; `babyweight rollout` moves them",
    }
    key_param = {
        "name": ROLLOUT_KEY_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "a client's key (a user, a session): unlabelled requests with one key "
        "always go to one version while the labels stay as they are",
    }
    status_op = {
        "get": {
            "summary": "Version status (TF Serving GetModelStatus)",
            "responses": {
                "200": {"description": "status", "content": {JSON: {"schema": _ref("Status")}}},
                **errors(
                    (400, "a version that is not a 64-bit whole number"),
                    (404, "no such model, version or label"),
                ),
            },
        }
    }
    metadata_op = {
        "get": {
            "summary": "Signatures of a version (TF Serving GetModelMetadata)",
            "responses": {
                "200": {"description": "metadata", "content": {JSON: {"schema": _ref("Metadata")}}},
                **errors(
                    (400, "a version that is not a 64-bit whole number"),
                    (404, "no such model, version or label"),
                    (503, "no version loaded yet"),
                ),
            },
        }
    }
    predict_op = {
        "post": {
            "summary": "Predict birth weight in pounds (TF Serving Predict)",
            "description": "Row format {instances: [...]} answers {predictions: [...]}; columnar "
            "format {inputs: {...}} answers {outputs: [...]}. Pounds, one per row. Without a "
            "version or label the stable version answers, or the canary for its share.",
            "parameters": [key_param],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": {"oneOf": [row_request, columnar_request]}}},
            },
            "responses": {
                "200": {
                    "description": "one prediction per row, in pounds",
                    "content": {JSON: {"schema": _ref("Predictions")}},
                },
                **errors(
                    (400, "malformed JSON, a missing or wrong feature; names every one"),
                    (404, "no such model, version or label"),
                    (413, f"body over {max_body_bytes} bytes"),
                    (503, "no version loaded yet"),
                ),
            },
        }
    }
    base = f"/v1/models/{model_name}"
    numbers = {"type": "array", "items": {"type": "number"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{model_name}: TF Serving-compatible REST API",
            "version": "1",
            "description": "Raw features in, birth weight in pounds out.",
        },
        "paths": {
            base: status_op,
            f"{base}/versions/{{version}}": {"parameters": [version_param], **status_op},
            f"{base}/metadata": metadata_op,
            f"{base}/versions/{{version}}/metadata": {"parameters": [version_param], **metadata_op},
            f"{base}:predict": predict_op,
            f"{base}/versions/{{version}}:predict": {"parameters": [version_param], **predict_op},
            f"{base}/labels/{{label}}": {"parameters": [label_param], **status_op},
            f"{base}/labels/{{label}}/metadata": {"parameters": [label_param], **metadata_op},
            f"{base}/labels/{{label}}:predict": {"parameters": [label_param], **predict_op},
        },
        "components": {
            "schemas": {
                "Instance": {
                    "type": "object",
                    "required": list(F.FEATURE_KEYS),
                    "properties": features,
                },
                "Predictions": {
                    "type": "object",
                    "properties": {"predictions": numbers, "outputs": numbers},
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
                                "properties": {
                                    "field": {"type": "string"},
                                    "reason": {"type": "string"},
                                },
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
                    "properties": {
                        "model_spec": {"type": "object"},
                        "metadata": {"type": "object"},
                    },
                },
            }
        },
    }
