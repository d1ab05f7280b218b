"""pipeline/baseline.py: the tasks that hand on ResolveSpan's choices, on real artifacts over a
real serving directory and state record."""

import json

from babyweight import baseline as state

from tfx.types import artifact_utils, standard_artifacts

from pipeline import baseline


def artifact(kind, uri, **custom):
    a = kind()
    a.uri = str(uri)
    for key, value in custom.items():
        setter = (
            a.set_int_custom_property if isinstance(value, int) else a.set_string_custom_property
        )
        setter(key, value)
    return a


def test_a_chosen_version_becomes_the_model_where_the_evaluator_and_trainer_look(tmp_path):
    version = tmp_path / "serving" / "3"
    (version / "variables").mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"graph")
    (version / "variables" / "variables.index").write_bytes(b"index")
    model = artifact(standard_artifacts.Model, tmp_path / "model")
    baseline.import_model(model, str(version), "unused")
    copied = tmp_path / "model" / "Format-Serving"
    assert (copied / "saved_model.pb").read_bytes() == b"graph"
    assert (copied / "variables" / "variables.index").read_bytes() == b"index"
    assert model.get_string_custom_property(state.SOURCE) == str(version)
    assert not model.get_int_custom_property(state.ABSENT)


def test_no_choice_is_an_absent_artifact_and_nothing_is_copied(tmp_path):
    model = artifact(standard_artifacts.Model, tmp_path / "model")
    baseline.import_model(model, "", "no blessed model yet")
    assert model.get_int_custom_property(state.ABSENT) == 1
    assert not (tmp_path / "model").exists()


def test_statistics_are_recorded_for_their_span_and_the_previous_ones_handed_on(tmp_path):
    serving = tmp_path / "serving"
    old = tmp_path / "stats-0"
    for split in ("train", "eval"):
        (old / f"Split-{split}").mkdir(parents=True)
        (old / f"Split-{split}" / "FeatureStats.pb").write_bytes(split.encode())
    examples = artifact(standard_artifacts.Examples, tmp_path / "examples")
    examples.span = 1
    mine = artifact(standard_artifacts.ExampleStatistics, tmp_path / "stats-1")
    previous = artifact(standard_artifacts.ExampleStatistics, tmp_path / "previous")
    baseline.previous_statistics_of(examples, mine, previous, str(serving), str(old))
    assert state.read_state(str(serving))["statistics"] == {"1": str(tmp_path / "stats-1")}
    assert (tmp_path / "previous" / "Split-train" / "FeatureStats.pb").read_bytes() == b"train"
    assert artifact_utils.decode_split_names(previous.split_names) == ["eval", "train"]
    assert previous.get_string_custom_property(state.SOURCE) == str(old)


def test_the_first_span_records_its_statistics_and_hands_on_nothing(tmp_path):
    examples = artifact(standard_artifacts.Examples, tmp_path / "examples")
    examples.span = 0
    mine = artifact(standard_artifacts.ExampleStatistics, tmp_path / "stats-0")
    previous = artifact(standard_artifacts.ExampleStatistics, tmp_path / "previous")
    baseline.previous_statistics_of(examples, mine, previous, str(tmp_path / "serving"), "")
    assert previous.get_int_custom_property(state.ABSENT) == 1
    assert state.read_state(str(tmp_path / "serving"))["statistics"] == {"0": str(mine.uri)}


def test_a_push_is_recorded_with_its_span_and_files_and_a_non_push_is_not(tmp_path):
    serving = tmp_path / "serving"
    examples = artifact(
        standard_artifacts.Examples, tmp_path / "examples", input_fingerprint="files-0"
    )
    examples.span = 0
    skipped = artifact(standard_artifacts.PushedModel, tmp_path / "p0", pushed=0)
    baseline.record_push(skipped, examples, str(serving))
    assert not (serving / state.STATE_FILE).exists()
    pushed = artifact(
        standard_artifacts.PushedModel,
        tmp_path / "p1",
        pushed=1,
        pushed_destination=str(serving / "1700000000"),
    )
    baseline.record_push(pushed, examples, str(serving))
    record = json.loads((serving / state.STATE_FILE).read_text())
    assert record["versions"] == {"1700000000": {"span": 0, "fingerprint": "files-0"}}
