"""babyweight/baseline.py: the baseline, warm start and previous statistics from a real serving
directory (numbered versions, as the Pusher writes them) and its state record."""

import json

from babyweight import baseline

import pytest


def push(serving, version, span=None, fingerprint=None):
    """A version directory as the Pusher leaves it, recorded as trained on `span`."""
    (serving / str(version)).mkdir(parents=True)
    (serving / str(version) / "saved_model.pb").write_bytes(b"model %d" % version)
    if span is not None:
        baseline.record_push(str(serving), str(version), span, fingerprint)


def statistics(tmp_path, serving, span):
    uri = tmp_path / f"stats-{span}"
    uri.mkdir()
    baseline.record_statistics(str(serving), span, str(uri))
    return str(uri)


def test_the_first_run_goes_through_the_same_path_and_says_nothing_is_there(tmp_path):
    choice = baseline.choose(str(tmp_path / "serving"), span=0, fingerprint="f0")
    assert (choice.baseline, choice.base_model, choice.previous_statistics) == (None,) * 3
    assert choice.notes[0].startswith("no blessed model yet: nothing pushed to")
    assert choice.notes[1] == "no blessed model trained on other data yet"
    assert choice.notes[2] == "no span before span 0 to compare with"


def test_a_second_span_builds_on_the_first_runs_model_and_statistics(tmp_path):
    serving = tmp_path / "serving"
    push(serving, 1, span=0, fingerprint="f0")
    stats0 = statistics(tmp_path, serving, 0)
    choice = baseline.choose(str(serving), span=1, fingerprint="f1")
    assert choice.baseline == choice.base_model == str(serving / "1")
    assert choice.previous_statistics == stats0
    assert choice.notes[1] == "warm start from version 1 (trained on span 0)"
    assert choice.notes[2] == "drift compared with span 0"


def test_a_rerun_is_evaluated_against_its_own_push_but_not_warm_started_from_it(tmp_path):
    serving = tmp_path / "serving"
    push(serving, 1, span=0, fingerprint="f0")
    push(serving, 2, span=1, fingerprint="f1")
    choice = baseline.choose(str(serving), span=1, fingerprint="f1")
    assert choice.baseline == str(serving / "2")
    assert choice.base_model == str(serving / "1")


def test_the_newest_version_wins_by_number_not_by_name(tmp_path):
    serving = tmp_path / "serving"
    for version in (9, 10):
        push(serving, version, span=version, fingerprint=f"f{version}")
    (serving / "notes").mkdir()
    assert baseline.pushed_versions(str(serving)) == ["10", "9"]
    assert baseline.choose(str(serving), 11, "f11").baseline == str(serving / "10")


def test_an_unrecorded_version_is_a_baseline_but_never_a_warm_start(tmp_path):
    serving = tmp_path / "serving"
    push(serving, 1)
    choice = baseline.choose(str(serving), span=1, fingerprint="f1")
    assert choice.baseline == str(serving / "1")
    assert choice.base_model is None


def test_drift_compares_with_the_highest_earlier_span_only(tmp_path):
    serving = tmp_path / "serving"
    stats = {span: statistics(tmp_path, serving, span) for span in (0, 2, 5)}
    assert baseline.choose(str(serving), 3, "f").previous_statistics == stats[2]
    assert baseline.choose(str(serving), 0, "f").previous_statistics is None


def test_recorded_statistics_that_are_gone_are_named(tmp_path):
    serving = tmp_path / "serving"
    uri = statistics(tmp_path, serving, 0)
    (tmp_path / "stats-0").rmdir()
    choice = baseline.choose(str(serving), 1, "f")
    assert choice.previous_statistics is None
    assert choice.notes[2] == f"span statistics recorded at {uri} are gone"


def test_the_record_keeps_both_kinds_of_entry(tmp_path):
    serving = tmp_path / "serving"
    push(serving, 1, span=0, fingerprint="f0")
    uri = statistics(tmp_path, serving, 0)
    state = json.loads((serving / baseline.STATE_FILE).read_text())
    assert state == {
        "versions": {"1": {"span": 0, "fingerprint": "f0"}},
        "statistics": {"0": uri},
    }


def test_a_broken_record_is_one_line_naming_the_file(tmp_path):
    serving = tmp_path / "serving"
    serving.mkdir()
    (serving / baseline.STATE_FILE).write_text("{not json")
    with pytest.raises(baseline.StateError, match=r"babyweight_state\.json: not JSON"):
        baseline.choose(str(serving), 0, "f")


def test_another_span_is_other_data_even_with_the_same_fingerprint(tmp_path):
    """TFX's fingerprint holds sizes and times, not paths: two spans can share one."""
    serving = tmp_path / "serving"
    push(serving, 1, span=0, fingerprint="same")
    assert baseline.choose(str(serving), 1, "same").base_model == str(serving / "1")
    assert baseline.choose(str(serving), 0, "same").base_model is None


def test_a_table_without_spans_numbers_each_read_and_builds_on_the_earlier_reads(tmp_path):
    """BigQuery: read 0 pushed version 1; read 1 recorded its statistics, its model was not
    blessed; read 2 (next_read) warm-starts from version 1 and compares with read 1."""
    serving = tmp_path / "serving"
    assert baseline.next_read(str(serving)) == 0  # nothing recorded: the first read
    push(serving, 1, span=0, fingerprint="read 0 of query q")
    statistics(tmp_path, serving, 0)
    assert baseline.next_read(str(serving)) == 1
    stats1 = statistics(tmp_path, serving, 1)
    read = baseline.next_read(str(serving))
    assert read == 2
    choice = baseline.choose(str(serving), span=read, fingerprint=f"read {read} of query q")
    assert choice.baseline == choice.base_model == str(serving / "1")
    assert choice.previous_statistics == stats1
    assert choice.notes[2] == "drift compared with span 1"


def test_a_pushed_read_without_recorded_statistics_still_counts(tmp_path):
    serving = tmp_path / "serving"
    push(serving, 3, span=5, fingerprint="read 5 of query q")
    assert baseline.next_read(str(serving)) == 6
