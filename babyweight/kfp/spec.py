"""Reading a compiled pipeline: kubeflow_runner.py's PipelineJob JSON, or a bare pipeline spec."""

from __future__ import annotations

import json
from pathlib import Path

SPEC_FILE = "babyweight_{target}.json"  # what kubeflow_runner.py writes, in the working directory


class SpecFileError(ValueError):
    """The file is missing or holds no KFP pipeline spec; the message names it."""


def load_spec(path) -> tuple[dict, dict]:
    """(pipeline spec, runtime config) of a PipelineJob JSON file, or of a bare pipeline spec.

    A KFP server takes the bare pipeline spec; Vertex takes the whole PipelineJob."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SpecFileError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SpecFileError(f"{path}: not a JSON pipeline spec ({e})") from None
    spec = document.get("pipelineSpec", document) if isinstance(document, dict) else None
    if not isinstance(spec, dict) or not {"root", "pipelineInfo", "deploymentSpec"} <= set(spec):
        raise SpecFileError(
            f"{path}: no KFP pipeline spec in it (pipelineInfo, root, deploymentSpec)"
        )
    return spec, document.get("runtimeConfig", {})
