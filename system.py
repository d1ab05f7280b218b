"""The KFP artifact types that the Kubeflow Pipelines UI renders, as TFX artifact classes.

The KFP v2 UI draws an output only when its type is `system.HTML`, `system.Markdown` or
`system.Metrics`; a `tfx.*` artifact shows as a URI. TFX's KFP v2 compiler writes a custom
artifact class's TYPE_NAME as the schema title, and TFX's container entrypoint imports the class
back from that title as a dotted path. So the classes must be importable as `system.HTML` etc.:
this module is top-level and named `system`, in the repository root and at /pipeline in the image.

Each is one file at its URI (a ValueArtifact, as the UI reads it): the HTML page, the Markdown
text, or, for Metrics, a JSON object of the numbers, which are also the artifact's custom
properties (the UI's scalar-metrics table reads those).
"""

from __future__ import annotations

from tfx.types.value_artifact import ValueArtifact


class _TextFile(ValueArtifact):
    def encode(self, value: str) -> bytes:
        return value.encode("utf-8")

    def decode(self, serialized_value: bytes) -> str:
        return serialized_value.decode("utf-8")


class HTML(_TextFile):
    TYPE_NAME = "system.HTML"


class Markdown(_TextFile):
    TYPE_NAME = "system.Markdown"


class Metrics(_TextFile):
    TYPE_NAME = "system.Metrics"
