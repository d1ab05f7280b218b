"""models/signatures.py: serving_default's explicit TensorFlow signature is the table's.

TensorFlow needs the signature written out (TensorSpecs) before any data is seen; it is built
from babyweight/features.py, and these tests hold it there. The exported model's own signature
is checked against the table by tests/serving/test_app.py (served metadata)."""

from __future__ import annotations

from babyweight import features as F

import pytest
import tensorflow as tf
from helpers import FATHER_AGE

from models import signatures


def test_serving_default_takes_one_tensor_per_feature_of_the_table():
    specs = signatures.raw_input_signature()
    assert [s.name for s in specs] == F.FEATURE_KEYS
    assert [s.dtype for s in specs] == [tf.as_dtype(f.dtype) for f in F.FEATURES]
    assert all(s.shape.as_list() == [None] for s in specs)


def test_a_feature_added_to_the_table_is_in_the_signature(monkeypatch):
    monkeypatch.setattr(F, "FEATURES", (*F.FEATURES, FATHER_AGE))
    specs = {s.name: s.dtype for s in signatures.raw_input_signature()}
    assert specs["father_age"] == tf.int64


@pytest.mark.parametrize("spelling", sorted(F.PLURALITY_SPELLINGS))
def test_the_signature_reads_plurality_as_the_table_counts_it(spelling):
    raw, multiple = signatures._parse_plurality(tf.constant([spelling.upper()]))
    label = F.PLURALITY_SPELLINGS[spelling]
    assert int(raw[0]) == F.plurality_count(label)
    assert bool(multiple[0]) == (label == F.MULTIPLE)
