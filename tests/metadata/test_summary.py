"""The run summary: reasons that name metric, slice, value and threshold; one exit code per
outcome; what was pushed or is already serving."""

from __future__ import annotations

from babyweight.errors import ExitCode
from babyweight.metadata import summary
from babyweight.metadata.summary import RunSummary

import lineage_store
import pytest
from helpers import REPO
from tensorflow_model_analysis.proto import validation_result_pb2 as tfma_pb


def failed_validation() -> tfma_pb.ValidationResult:
    """What TFMA records when the RMSE bound and the baseline tolerance both fail, with the
    overall slice missing from a second model's data."""
    result = tfma_pb.ValidationResult(validation_ok=False)
    per_slice = result.metric_validations_per_slice.add()  # the Overall slice: no slice key
    bound = per_slice.failures.add()
    bound.metric_key.name = "root_mean_squared_error"
    bound.metric_value.double_value.value = 2.3125
    bound.metric_threshold.value_threshold.upper_bound.value = 2.0
    change = per_slice.failures.add()
    change.metric_key.name = "root_mean_squared_error"
    change.metric_key.is_diff = True
    change.metric_value.double_value.value = 0.0812
    change.metric_threshold.change_threshold.absolute.value = 0.05
    result.missing_slices.add().feature_keys.append("plurality")
    return result


def test_a_refusal_names_metric_slice_value_and_threshold():
    reason = summary.reason_from_validation(failed_validation(), RunSummary())
    assert reason == (
        "root_mean_squared_error on Overall is 2.3125; it must be at most 2; "
        "root_mean_squared_error on Overall is +0.0812 against the baseline's; it must be "
        "no more than 0.05 above the baseline's; slice plurality has no rows in the evaluated split"
    )


def test_a_reason_is_never_empty():
    empty = tfma_pb.ValidationResult(validation_ok=False)
    assert summary.reason_from_validation(empty, RunSummary())
    passed = RunSummary(
        blessed=True,
        baseline="/m/1",
        metrics={"Overall": {"rmse": 1.1878, "rmse_diff": 0.0}},
        thresholds={"rmse_upper_bound": 2.0, "baseline_rmse_tolerance": 0.05},
    )
    reason = summary.reason_from_validation(tfma_pb.ValidationResult(validation_ok=True), passed)
    assert reason == (
        "every threshold passed: root_mean_squared_error on Overall is 1.1878, at most 2; "
        "+0.0000 against the baseline's, no more than 0.05 above it"
    )


EVALUATED = {"Evaluator": "COMPLETE", "Pusher": "COMPLETE"}


@pytest.mark.parametrize(
    "fields, error, code",
    [
        ({"components": EVALUATED, "metrics": {"Overall": {}}, "blessed": True}, None, 0),
        ({"components": EVALUATED, "metrics": {"Overall": {}}}, None, 6),
        ({"components": {"Evaluator": "CACHED"}, "metrics": {"Overall": {}}}, None, 6),
        ({"anomalies": {"plurality": {"train": "Unexpectedly large value: 9"}}}, "stop", 5),
        ({"components": {"Trainer": "FAILED"}}, RuntimeError("boom"), 1),
        ({"components": {"Trainer": "COMPLETE"}}, None, 1),  # ended without evaluating
        ({"components": {"Evaluator": "COMPLETE"}}, None, 1),  # evaluated nothing
    ],
)
def test_one_exit_code_per_outcome_and_never_0_without_an_evaluation(fields, error, code):
    result = RunSummary(**fields)
    summary.decide_outcome(result, error)
    assert result.exit_code == code
    assert result.outcome == ExitCode(code).name.lower()
    assert result.blessing_reason


def test_exit_codes_are_distinct_and_documented():
    text = (REPO / "docs" / "running.md").read_text()
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    for code in ExitCode:
        assert f"| {int(code)} | `{code.name.lower()}`" in text


def pushed_model(recorder, **custom):
    a_id = recorder.artifact("PushedModel", "/root/Pusher/pushed_model/9", **custom)
    return recorder.store.get_artifacts_by_id([a_id])[0]


class _Node:
    def __init__(self, state):
        self.state = state


def test_pushed_already_serving_and_a_cached_push(tmp_path):
    recorder = lineage_store.Recorder(tmp_path / "metadata.sqlite")
    pushed = pushed_model(recorder, pushed=1, pushed_destination="/s/7", pushed_version="7")
    result = RunSummary()
    summary.add_push(result, _Node("COMPLETE"), pushed)
    assert (result.pushed_model, result.already_serving_version) == ("/s/7", None)
    result = RunSummary()
    summary.add_push(result, _Node("CACHED"), pushed)  # an earlier run pushed it
    assert (result.pushed_model, result.already_serving_version) == (None, "7")
    not_pushed = pushed_model(recorder, pushed=0, already_serving_version="7")
    result = RunSummary(run_id="r", components={"Pusher": "COMPLETE"})
    summary.add_push(result, _Node("COMPLETE"), not_pushed)
    assert (result.pushed_model, result.already_serving_version) == (None, "7")
    assert "pushed model: none new; already serving version 7" in summary.format_text(result)


def test_the_summary_of_an_interrupted_run_lists_what_ran_and_says_interrupted(tmp_path):
    """run_summary.json after Ctrl-C held `components: {}` and `run_state: ""` (issue 29)."""
    from babyweight.layout import OutputLayout

    from ml_metadata.proto import metadata_store_pb2 as pb

    layout = OutputLayout(tmp_path)
    recorder = lineage_store.Recorder(layout.metadata)
    recorder.execute("CsvExampleGen", run="earlier")
    recorder.execute("CsvExampleGen", run="r2", state=pb.Execution.CACHED)
    recorder.execute("StatisticsGen", run="r2")
    recorder.execute("Trainer", run="r2", state=pb.Execution.CANCELED)  # as the runner marks it

    result = summary.interrupted(layout, "r2", log_file="r2.log")

    assert result.components == {
        "CsvExampleGen": "CACHED",
        "StatisticsGen": "COMPLETE",
        "Trainer": "CANCELED",
    }
    assert (result.outcome, result.exit_code) == ("interrupted", ExitCode.INTERRUPTED)
    assert result.run_state == "CANCELED" and result.log_file == "r2.log"
    assert set(result.seconds) == set(result.components)
    text = summary.format_text(result)
    assert "Trainer=CANCELED" in text


def test_a_run_interrupted_before_the_pipeline_started_says_interrupted(tmp_path):
    from babyweight.layout import OutputLayout

    result = summary.interrupted(OutputLayout(tmp_path), "r1")
    assert (result.outcome, result.components, result.run_state) == ("interrupted", {}, "CANCELED")
