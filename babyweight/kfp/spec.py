"""Reading a compiled pipeline: kubeflow_runner.py's PipelineJob JSON, or a bare pipeline spec.

`kubeflow_runner.py` writes two files of one pipeline, side by side:

    babyweight_TARGET.json   the PipelineJob (pipelineSpec + runtimeConfig): what Vertex submits
    babyweight_TARGET.yaml   the bare pipeline spec (KFP IR YAML): what a KFP server uploads,
                             through the UI, `kfp pipeline create` or `babyweight kfp create`

Both carry the pipeline root (`defaultPipelineRoot` in the spec) and the pipeline parameters
with their defaults (`root.inputDefinitions`), so a run started anywhere gets them.
"""

from __future__ import annotations

import json
from pathlib import Path

from babyweight.errors import UsageError
from babyweight.layout import SPEC_FILE as SPEC_FILE  # re-exported: the tool reads it here

import yaml

IR_SUFFIX = ".yaml"


class SpecFileError(UsageError, ValueError):
    """The file is missing or holds no KFP pipeline spec; the message names it."""


def ir_path(spec_path) -> Path:
    """The bare pipeline spec YAML written beside a PipelineJob JSON file."""
    return Path(spec_path).with_suffix(IR_SUFFIX)


def is_yaml(path) -> bool:
    return Path(path).suffix in (".yaml", ".yml")


def load_spec(path) -> tuple[dict, dict]:
    """(pipeline spec, runtime config) of a PipelineJob JSON file, or of a bare pipeline spec
    (JSON or YAML; its runtime config is empty).

    A KFP server takes the bare pipeline spec; Vertex takes the whole PipelineJob."""
    try:
        text = Path(path).read_text()
        document = yaml.safe_load(text) if is_yaml(path) else json.loads(text)
    except FileNotFoundError:
        raise SpecFileError(f"{path}: no such file") from None
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as e:
        kind = "YAML" if is_yaml(path) else "JSON"
        raise SpecFileError(f"{path}: not a {kind} pipeline spec ({e})") from None
    spec = document.get("pipelineSpec", document) if isinstance(document, dict) else None
    if not isinstance(spec, dict) or not {"root", "pipelineInfo", "deploymentSpec"} <= set(spec):
        raise SpecFileError(
            f"{path}: no KFP pipeline spec in it (pipelineInfo, root, deploymentSpec)"
        )
    return spec, document.get("runtimeConfig", {})


def pipeline_root(spec: dict, runtime_config: dict) -> str | None:
    """The root a run of this spec gets when none is given: the PipelineJob's, else the spec's."""
    return runtime_config.get("gcsOutputDirectory") or spec.get("defaultPipelineRoot")


def parameter_defaults(spec: dict) -> dict:
    """{name: default} of the pipeline's parameters that have a default."""
    definitions = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    return {n: d["defaultValue"] for n, d in definitions.items() if "defaultValue" in d}


def add_runtime_parameter_argument(parser, help_text: str) -> None:
    """`--runtime_parameter NAME=VALUE`, repeatable, spelled as `tfx run create` spells it."""
    parser.add_argument(
        "--runtime_parameter",
        "--runtime-parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=help_text,
    )


def runtime_parameters(texts: list[str]) -> dict[str, str]:
    """{NAME: VALUE} of --runtime_parameter values; each value is sent as text (every parameter
    of this pipeline is a string: JSON or a path). SpecFileError names a malformed one."""
    parameters = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise SpecFileError(f"--runtime_parameter {text!r}: expected NAME=VALUE")
        parameters[name] = value
    return parameters
