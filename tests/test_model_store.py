"""babyweight.model_store: which versions count, the newest one, predictions on Instances."""

from __future__ import annotations

from babyweight import model_store
from babyweight.instances import parse_instances

import pytest
from serve_helpers import ROW, in_process_predictions


def fake_version(base, name: str, *, complete: bool = True):
    path = base / name
    (path / "variables").mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"x")
    if complete:
        (path / "variables" / "variables.index").write_bytes(b"x")
    return path


def test_only_complete_numbered_versions_count(tmp_path):
    assert model_store.versions(tmp_path / "missing") == []
    fake_version(tmp_path, "9")
    fake_version(tmp_path, "10")
    fake_version(tmp_path, "11", complete=False)  # a push still being copied
    fake_version(tmp_path, ".staging-12")
    (tmp_path / "13").mkdir()
    assert model_store.versions(tmp_path) == [9, 10]  # numeric order, not text order
    assert model_store.newest_version(tmp_path) == 10
    assert model_store.newest_version_dir(tmp_path) == tmp_path / "10"


def test_no_version_is_a_clear_error(tmp_path):
    with pytest.raises(model_store.ModelNotFound, match=str(tmp_path)):
        model_store.newest_version_dir(tmp_path)
    with pytest.raises(model_store.ModelNotFound, match="complete"):
        model_store.load(tmp_path)


@pytest.mark.e2e
def test_load_and_predict_equal_the_signature(pushed_model_dir):
    model = model_store.load(model_store.newest_version_dir(pushed_model_dir.parent))
    assert model.version == pushed_model_dir.name
    rows = [ROW, {**ROW, "is_male": "Unknown", "plurality": "Multiple(2+)"}]
    assert model.predict(parse_instances(rows)) == in_process_predictions(pushed_model_dir, rows)
    assert model.predict([]) == []
    assert "serving_default" in model.signature_defs()
