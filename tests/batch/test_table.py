"""babyweight/batch/table.py and the Pusher's table (pipeline/pusher.py): the batch prediction
job fills a pushed version's table; over the whole domain its answers are the model's, and with
`prediction_table_rows` under the domain's size it holds exactly the combinations most frequent
in the training data (counted here from the tf.Examples themselves, record by record), the
server answering the others from the model."""

from __future__ import annotations

import collections
import csv
import gzip
import struct
from pathlib import Path

from babyweight import features as F
from babyweight import model_store
from babyweight import prediction_table as T
from babyweight.instances import InvalidInstance, parse_instance
from babyweight.serving import loader

import numpy as np
import pytest
from helpers import REPO, TINY_ROWS_EVERY
from serve_helpers import push_copy
from tfx.types import standard_artifacts

from pipeline import pusher

TOP = 50  # rows of the frequent-combinations table (the tiny run trains on ~200 combinations)


@pytest.fixture
def version(pushed_model_dir, tmp_path):
    copy = push_copy(pushed_model_dir, tmp_path / "babyweight", int(pushed_model_dir.name))
    T.table_path(copy).unlink()  # the Pusher's own table: each test makes its own
    return copy


@pytest.fixture(scope="module")
def train_examples(tiny_run):
    """The tiny run's Examples artifact (its train split is what the model trained on)."""
    output, _ = tiny_run
    [uri] = (output / "pipeline_root" / "CsvExampleGen" / "examples").iterdir()
    examples = standard_artifacts.Examples()
    examples.uri = str(uri)
    examples.split_names = '["train", "eval", "test"]'
    return examples


def held_out_rows() -> list:
    """Every row of data/births.csv that the tiny run did not read (it reads every
    TINY_ROWS_EVERY-th), as Instances; rows the server would refuse left out."""
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = [r for j, r in enumerate(csv.DictReader(f)) if j % TINY_ROWS_EVERY]
    out = []
    for row in rows:
        try:
            out.append(parse_instance(row))
        except InvalidInstance:
            continue
    return out


def records(path):
    """The records of a gzipped TFRecord file, read by its framing (length, crc, data, crc)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        yield data[at + 12 : at + 12 + length]
        at += 12 + length + 4


def combination_counts(examples) -> collections.Counter:
    """(is_male, mother_age, plurality, gestation_weeks) of each train tf.Example, as the
    serving domain spells them, counted record by record (not by the code under test)."""
    from tensorflow.core.example import example_pb2

    labels = {F.plurality_count(v): v for v in F.PLURALITY_VALUES if v != "Multiple(2+)"}
    counts = collections.Counter()
    for path in (Path(examples.uri) / "Split-train").iterdir():
        for record in records(path):
            feature = example_pb2.Example.FromString(record).features.feature
            values = {}
            for name in F.FEATURE_KEYS:
                kind = feature[name].WhichOneof("kind")
                listed = getattr(feature[name], kind).value if kind else []
                values[name] = listed[0] if listed else None
            if None in values.values():
                continue
            is_male = values[F.IS_MALE].decode()
            is_male = {"true": "True", "false": "False"}.get(is_male.lower(), is_male)
            counts[(is_male, values[F.MOTHER_AGE], labels[values[F.PLURALITY]],
                    values[F.GESTATION_WEEKS])] += 1  # fmt: skip
    return counts


def test_the_batch_job_fills_the_whole_domain_with_the_models_answers(version):
    from babyweight.batch import table

    table.fill(version, max_rows=T.Domain.from_features().size)
    read = T.read(version)
    assert read.full and read.selection == "the whole domain (25110 rows)"
    rows = held_out_rows()
    values, found = read.lookup(rows)
    assert found.all() and len(rows) > 2500
    model = model_store.load(version, warm_up=False).predict(rows)
    np.testing.assert_allclose(values, model, rtol=2**-22)  # float32 rounding


def test_the_frequent_table_holds_exactly_the_top_combinations(version, train_examples):
    expected = combination_counts(train_examples)
    assert len(expected) > TOP  # the tiny run's train rows hold more combinations than that
    counts = pusher.training_counts([train_examples])
    assert counts.sum() == sum(expected.values())
    pusher.write_serving_extras(str(version), TOP, [train_examples])
    read = T.read(version)
    assert len(read.rows) == TOP and not read.full
    assert read.selection.startswith(f"the {TOP} most frequent of 25110 combinations")
    domain = T.Domain.from_features()
    held = set(zip(*domain.columns(read.rows).values(), strict=True))
    # the TOP most frequent; equal counts: the lower domain row (mixed radix, first feature
    # slowest, each axis in the feature table's order) first
    position = [{v: i for i, v in enumerate(axis)} for axis in domain.axes]

    def row_of(combination):
        index = 0
        for at, value, n in zip(position, combination, domain.shape, strict=True):
            index = index * n + at[value]
        return index

    top = sorted(expected, key=lambda c: (-expected[c], row_of(c)))[:TOP]
    assert held == set(top)
    assert min(expected[c] for c in held) >= max(n for c, n in expected.items() if c not in held)


def test_rows_outside_the_frequent_table_go_to_the_model(version, train_examples):
    pusher.write_serving_extras(str(version), TOP, [train_examples])
    hybrid = loader.load_version(version)
    held = set(zip(*hybrid.table.domain.columns(hybrid.table.rows).values(), strict=True))
    rows = held_out_rows()
    predictions, sources = hybrid.predict_sourced(rows)
    inside = [tuple(r[k] for k in F.FEATURE_KEYS) in held for r in rows]
    assert sources == ["table" if i else "model" for i in inside]
    assert 0 < sum(inside) < len(rows)
    model = model_store.load(version, warm_up=False).predict(rows)
    np.testing.assert_allclose(predictions, model, rtol=2**-22)


def test_over_the_limit_without_training_rows_there_is_no_table(version, caplog):
    pusher.write_serving_extras(str(version), TOP, [])
    with pytest.raises(T.TableError, match="no prediction table"):
        T.read(version)
