"""The curated schema (`schema.pbtxt` beside this module), shipped as package data.

ImportSchemaGen and the skew check read the file by path (`SCHEMA_PATH`), so none of them needs
the repository root or the pipeline's settings. Its domains are those of the table of features
(babyweight/features.py), which the request parser, the web form and the OpenAPI document read;
tests/test_schema.py holds the two together.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.pbtxt")
