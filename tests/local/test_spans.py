"""Spans of input data: which a --data directory holds, which are complete (their _SUCCESS file),
which span a run reads, and the record of what ran (span_runs.jsonl). Fixtures are real rows of
../shared/data/natality (helpers.natality_span)."""

from __future__ import annotations

import json

from babyweight.local import spans

import pytest
from helpers import natality_span


def test_span_directories_are_found_by_number_with_their_marker(tmp_path):
    natality_span(tmp_path, 1)
    natality_span(tmp_path, 2, complete=False)  # still being copied: no _SUCCESS yet
    (tmp_path / "span-10").mkdir()
    (tmp_path / "span-10" / "_SUCCESS").write_text("")
    (tmp_path / "span-3").write_text("a file, not a span")
    (tmp_path / "notes").mkdir()
    found = spans.find_spans(tmp_path)
    assert [(s.number, s.path.name, s.complete) for s in found] == [
        (1, "span-1", True),
        (2, "span-2", False),
        (10, "span-10", True),  # by number, not by name
    ]
    assert spans.find_spans(tmp_path / "span-1" / "births.csv") == []  # a file holds no spans
    assert spans.find_spans(tmp_path / "span-1") == []  # a span's own directory neither


def test_another_pattern_names_spans_another_way(tmp_path):
    (tmp_path / "month=7").mkdir()
    (tmp_path / "7").mkdir()
    assert [s.path.name for s in spans.find_spans(tmp_path, "month={SPAN}")] == ["month=7"]
    assert [s.number for s in spans.find_spans(tmp_path, "{SPAN}")] == [7]
    with pytest.raises(spans.SpanError, match="needs {SPAN} exactly once"):
        spans.span_regex("span")


def test_two_directories_of_one_span_are_refused(tmp_path):
    (tmp_path / "span-1").mkdir()
    (tmp_path / "span-01").mkdir()
    with pytest.raises(spans.SpanError, match=r"two directories for span 1 \(span-01, span-1\)"):
        spans.find_spans(tmp_path)


def test_a_run_reads_the_latest_complete_span_or_the_one_asked_for(tmp_path):
    natality_span(tmp_path, 1)
    natality_span(tmp_path, 2)
    natality_span(tmp_path, 3, complete=False)
    found = spans.find_spans(tmp_path)
    assert spans.choose_span(found, tmp_path).number == 2  # span 3 is not complete yet
    assert spans.choose_span(found, tmp_path, wanted=1).number == 1
    with pytest.raises(spans.SpanError, match=r"--span 3: .*span-3 is not complete yet"):
        spans.choose_span(found, tmp_path, wanted=3)
    with pytest.raises(spans.SpanError, match=r"--span 4: no such span .*\(spans: 1, 2, 3\)"):
        spans.choose_span(found, tmp_path, wanted=4)
    with pytest.raises(spans.SpanError, match=r"no complete span yet \(span-3: none has its _SUC"):
        spans.choose_span(found[2:], tmp_path)


def summary(**fields) -> dict:
    base = {
        "run_id": "r1",
        "span": 2,
        "spans": [2],
        "outcome": "blessed",
        "exit_code": 0,
        "splits": {"test": 20, "train": 160, "eval": 20},
        "metrics": {"Overall": {"rmse": 1.1234}},
        "blessed": True,
        "pushed_model": "/out/serving_model/babyweight/1700000000",
        "warm_start": {"warm_start": True, "reason": "warm-started from /m (unchanged)"},
        "drift": {"compared_with": 1, "features": {}, "measurements": {}},
    }
    return {**base, **fields}


def test_the_record_of_a_run_keeps_what_the_watcher_prints(tmp_path):
    entry = spans.run_entry(summary(), tmp_path / "data")
    assert entry["data"] == str((tmp_path / "data").resolve())
    assert entry["rows"] == [160, 20, 20]  # train, eval, test
    assert entry["rmse"] == 1.1234 and entry["pushed_version"] == "1700000000"
    assert entry["warm_start"] is True and entry["drift_from"] == 1 and entry["drifted"] is None
    drifted = summary(
        outcome="drift",
        exit_code=7,
        drift={
            "compared_with": 1,
            "features": {"mother_age": "..."},
            "measurements": {
                "mother_age": {
                    "drift jensen_shannon_divergence": 0.41,
                    "drift jensen_shannon_divergence threshold": 0.15,
                }
            },
        },
    )
    entry = spans.run_entry(drifted, tmp_path)
    assert entry["drifted"] == "mother_age (Jensen-Shannon 0.41 > 0.15)"


def test_done_spans_are_those_whose_run_reached_an_outcome(tmp_path):
    ledger = tmp_path / "span_runs.jsonl"
    data, other = tmp_path / "data", tmp_path / "other"
    for span, outcome, where in [
        (1, "blessed", data),
        (2, "interrupted", data),  # resumed from the cache by the next run
        (3, "drift", data),  # stopped by the gate: done, not retried
        (4, "locked", data),  # another run held the output: retried
        (5, "blessed", other),  # another --data
    ]:
        spans.record_run(ledger, spans.run_entry(summary(span=span, outcome=outcome), where))
    with open(ledger, "a") as f:
        f.write('{"span": 6, "outcome": "bless')  # a line cut off by a crash
    runs = spans.read_runs(ledger)
    assert [r["span"] for r in runs] == [1, 2, 3, 4, 5]
    assert all("time" in r for r in runs) and json.loads(ledger.read_text().splitlines()[0])
    assert spans.done_spans(runs, data) == {1, 3}
    assert spans.read_runs(tmp_path / "none.jsonl") == []
