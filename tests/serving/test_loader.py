"""serving/loader.py on the real pushed model: the Pusher's warm-up file and prediction table,
replayed and put in front of the model; table answers equal the model's; a broken or foreign
table falls back to the model with one log line."""

from __future__ import annotations

import logging
import shutil

from babyweight import model_store, prediction_table
from babyweight.instances import parse_instance
from babyweight.serving import loader

import numpy as np
import pytest
from clients import held_out_rows
from serve_helpers import push_copy

ROWS = [parse_instance(r) for r in held_out_rows(every=1)]  # every held-out row


@pytest.fixture
def version(pushed_model_dir, tmp_path):
    return push_copy(pushed_model_dir, tmp_path / "babyweight", int(pushed_model_dir.name))


def test_the_pusher_wrote_the_warmup_file_and_the_table(pushed_model_dir):
    extra = pushed_model_dir / "assets.extra"
    assert (extra / "tf_serving_warmup_requests").is_file()
    assert prediction_table.read(pushed_model_dir).version == pushed_model_dir.name


def test_table_answers_equal_the_models_on_held_out_rows(version):
    hybrid = loader.load_version(version)
    assert hybrid.table is not None
    assert len(ROWS) > 300
    predictions, sources = hybrid.predict_sourced(ROWS)
    assert set(sources) == {"table"}
    model = model_store.load(version, warm_up=False).predict(ROWS)
    np.testing.assert_allclose(predictions, model, rtol=2**-22)  # float32 rounding


def test_warmup_requests_are_replayed(version):
    model = model_store.load(version, warm_up=False)
    assert loader.replay_warmup(model) == 2
    shutil.rmtree(version / "assets.extra")
    assert loader.replay_warmup(model) == 0  # one row instead


def test_a_broken_table_falls_back_to_the_model_with_one_log_line(version, caplog):
    prediction_table.table_path(version).write_bytes(b"not a table")
    with caplog.at_level(logging.WARNING, logger="babyweight.serving"):
        hybrid = loader.load_version(version)
        for _ in range(3):
            predictions, sources = hybrid.predict_sourced(ROWS[:5])
    assert set(sources) == {"model"}
    assert predictions == model_store.load(version, warm_up=False).predict(ROWS[:5])
    lines = [r.getMessage() for r in caplog.records if "answering from the model" in r.getMessage()]
    assert len(lines) == 1 and "unreadable prediction table" in lines[0]


def test_another_versions_table_never_answers(version, tmp_path):
    other = version.parent / str(int(version.name) + 1)
    shutil.copytree(version, other)
    hybrid = loader.load_version(other)  # its table names the version it was made for
    assert hybrid.table is None
    assert set(hybrid.predict_sourced(ROWS[:3])[1]) == {"model"}
