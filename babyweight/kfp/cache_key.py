"""KFP v2's cache fingerprint of a container task, computed as the OSS driver computes it.

From kubeflow/pipelines@7b70c7b95f6832772efd6fd0029a4024491a0f44:
backend/src/v2/driver/cache.go `getFingerPrint` and backend/src/v2/cacheutils/cache.go
`GenerateCacheKey` + `GenerateFingerPrint`, with api/v2alpha1/cache_key.proto.

The key holds: the input artifacts' names (their MLMD ids, so a new upstream artifact changes
it), the input parameter values, each output's name/type/metadata with the URI wiped, the output
parameters' types, and the container's image and *unresolved* command + args (placeholders as
compiled). It does not hold the data behind an input path: a task whose inputs are only
parameters (CsvExampleGen's `input_base`, `input_config`) gets the same key over new files.

The bytes hashed are protojson of the CacheKey, re-marshalled by Go's encoding/json: map keys
sorted, no spaces, `<`, `>`, `&` escaped as \\u003c \\u003e \\u0026, numbers as Go prints a
float64. A task's `cachingOptions.cacheKey`, when set, replaces all of it (sha256 of the
component name, a NUL, and the key).
"""

from __future__ import annotations

import hashlib
import json
import math


def go_number(value: float) -> str:
    """encoding/json's float64 format (strconv 'f' between 1e-6 and 1e21, else 'e')."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        digits = exponent.lstrip("+-").lstrip("0").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def go_json(value) -> str:
    """json.Marshal of the interface{} that json.Unmarshal made of protojson's bytes."""
    if isinstance(value, dict):
        items = (f"{go_json(k)}:{go_json(value[k])}" for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise ValueError("json: unsupported value")
        return go_number(float(value))
    text = json.dumps(value, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def cache_key(
    executor_input: dict, output_parameter_types: dict, command: list, args: list, image: str
) -> dict:
    """cacheutils GenerateCacheKey, as protojson writes it (empty maps and lists left out)."""
    inputs = executor_input.get("inputs", {})
    outputs = executor_input.get("outputs", {})
    key: dict = {}
    names = {
        name: {"artifactNames": [a.get("name", "") for a in listed.get("artifacts", [])]}
        for name, listed in inputs.get("artifacts", {}).items()
    }
    if names:
        key["inputArtifactNames"] = {n: (v if v["artifactNames"] else {}) for n, v in names.items()}
    if inputs.get("parameterValues"):
        key["inputParameterValues"] = dict(inputs["parameterValues"])
    specs = {}
    for name, listed in outputs.get("artifacts", {}).items():
        if not listed.get("artifacts"):
            continue
        first = listed["artifacts"][0]
        wiped = {k: first[k] for k in ("name", "type", "metadata") if first.get(k)}
        specs[name] = wiped
    if specs:
        key["outputArtifactsSpec"] = specs
    if outputs.get("parameters"):
        unknown = set(outputs["parameters"]) - set(output_parameter_types)
        if unknown:
            raise ValueError(
                f"unknown parameter {sorted(unknown)[0]!r} found in ExecutorInput_Outputs"
            )
        key["outputParametersSpec"] = {n: output_parameter_types[n] for n in outputs["parameters"]}
    container: dict = {}
    if image:
        container["image"] = image
    if list(command) + list(args):
        container["cmdArgs"] = list(command) + list(args)
    key["containerSpec"] = container
    return key


def fingerprint(key: dict) -> str:
    """cacheutils GenerateFingerPrint: sha256 hex of the re-marshalled key."""
    return hashlib.sha256(go_json(key).encode("utf-8")).hexdigest()


def task_fingerprint(task: dict, component: dict, container: dict, executor_input: dict) -> str:
    """driver/cache.go getFingerPrint for one task of the spec."""
    custom = task.get("cachingOptions", {}).get("cacheKey")
    if custom:
        h = hashlib.sha256()
        ref = task.get("componentRef", {}).get("name")
        if ref:
            h.update(ref.encode() + b"\0")
        h.update(custom.encode())
        return h.hexdigest()
    types = {
        n: d.get("parameterType", "PARAMETER_TYPE_ENUM_UNSPECIFIED")
        for n, d in component.get("outputDefinitions", {}).get("parameters", {}).items()
    }
    return fingerprint(
        cache_key(
            executor_input,
            types,
            container.get("command", []),
            container.get("args", []),
            container.get("image", ""),
        )
    )
