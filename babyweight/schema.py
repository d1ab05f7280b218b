"""The curated schema (`schema.pbtxt` beside this module), shipped as package data.

ImportSchemaGen reads the file by path (`SCHEMA_PATH`); serving and batch workers read the same
file through `load()`, so none of them needs the repository root or the pipeline's settings.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babyweight import features as F

SCHEMA_PATH = Path(__file__).with_name("schema.pbtxt")


@functools.lru_cache(maxsize=4)
def load(path: str | None = None):
    """The schema as a tensorflow_metadata Schema proto (the packaged one by default)."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    text = Path(path or SCHEMA_PATH).read_text()
    return text_format.Parse(text, schema_pb2.Schema())


@functools.lru_cache(maxsize=4)
def integer_domains(path: str | None = None) -> dict[str, tuple[int, int]]:
    """(min, max) of mother_age and gestation_weeks, the features a person types as numbers."""
    domains = {f.name: (f.int_domain.min, f.int_domain.max) for f in load(path).feature}
    return {k: domains[k] for k in (F.MOTHER_AGE, F.GESTATION_WEEKS)}
