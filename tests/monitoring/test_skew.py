"""The skew check: serving-log parsing, TFDV comparators, and the `skew` command on the e2e run."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys

from babyweight import features as F
from babyweight.monitoring import skew
from babyweight.schema import SCHEMA_PATH

import pytest
from helpers import REPO

SHIFT_WEEKS = 6


def births_rows() -> list[dict]:
    """Rows of data/births.csv whose features the pipeline keeps (all present and positive)."""
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    numeric = [F.MOTHER_AGE, F.PLURALITY, F.GESTATION_WEEKS]
    return [
        r
        for r in rows
        if r[F.IS_MALE] in ("True", "False")
        and all(r[k].isdigit() and int(r[k]) > 0 for k in numeric)
    ]


def log_record(row: dict, model_version: str, shifted: bool = False) -> dict:
    """A serving-log line as the REST server writes it, for one births.csv row."""
    return {
        "time": "2026-01-01T00:00:00Z",
        "model_version": model_version,
        "features": {
            F.IS_MALE: F.UNKNOWN if shifted else row[F.IS_MALE],
            F.MOTHER_AGE: int(row[F.MOTHER_AGE]),
            F.PLURALITY: F.PLURALITY_VALUES[int(row[F.PLURALITY]) - 1],
            F.GESTATION_WEEKS: int(row[F.GESTATION_WEEKS]) + (SHIFT_WEEKS if shifted else 0),
        },
        "prediction": 7.0,
    }


def write_log(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.fixture(scope="module")
def drawn():
    rows = births_rows()
    random.Random(7).shuffle(rows)
    return rows


def test_parse_features_maps_to_the_training_representation():
    parsed = skew.parse_features(
        {F.IS_MALE: "Unknown", F.MOTHER_AGE: 30, F.PLURALITY: "Twins(2)", F.GESTATION_WEEKS: 38},
        "log:1",
    )
    assert parsed == {F.IS_MALE: "Unknown", F.MOTHER_AGE: 30, F.PLURALITY: 2, F.GESTATION_WEEKS: 38}
    multiple = {F.IS_MALE: "True", F.MOTHER_AGE: 30, F.PLURALITY: F.MULTIPLE, F.GESTATION_WEEKS: 38}
    assert skew.parse_features(multiple, "log:1")[F.PLURALITY] == 2
    for label, count in zip(F.PLURALITY_VALUES[:-1], range(1, 6), strict=True):
        assert skew.parse_features({**multiple, F.PLURALITY: label}, "x")[F.PLURALITY] == count


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "log.jsonl:2: not JSON"),
        ('{"time": "t"}', "log.jsonl:2: field features: missing"),
        ('{"features": {"is_male": "True"}}', "log.jsonl:2: field features: missing mother_age"),
        (
            '{"features": {"is_male": "Yes", "mother_age": 30, "plurality": "Single(1)", '
            '"gestation_weeks": 39}}',
            "log.jsonl:2: field features.is_male: expected True, False or Unknown "
            "(also true/false, 1/0) (got 'Yes')",
        ),
        (
            '{"features": {"is_male": "True", "mother_age": "thirty", "plurality": "Single(1)", '
            '"gestation_weeks": 39}}',
            "log.jsonl:2: field features.mother_age: expected a whole number (got 'thirty')",
        ),
        (
            '{"features": {"is_male": "True", "mother_age": 30, "plurality": "Sextuplets(6)", '
            '"gestation_weeks": 39}}',
            "log.jsonl:2: field features.plurality: expected one of Single(1), Twins(2), "
            "Triplets(3), Quadruplets(4), Quintuplets(5), Multiple(2+) or 1-5 "
            "(got 'Sextuplets(6)')",
        ),
    ],
)
def test_a_bad_log_line_is_named_by_number_and_field(tmp_path, drawn, line, message):
    good = json.dumps(log_record(drawn[0], "1"))
    path = tmp_path / "log.jsonl"
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(skew.SkewInputError) as error:
        skew.read_serving_log(path)
    assert message in str(error.value)


def test_empty_or_missing_log_is_an_error(tmp_path):
    with pytest.raises(skew.SkewInputError, match="no such file"):
        skew.read_serving_log(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(skew.SkewInputError, match="no rows"):
        skew.read_serving_log(tmp_path / "empty.jsonl")


def _rows(records):
    return [skew.parse_features(r["features"], "test") for r in records]


def test_tfdv_skew_passes_same_distribution_and_names_the_shifted_features(drawn):
    training = [
        {k: (r[k] if k == F.IS_MALE else int(r[k])) for k in F.FEATURE_KEYS} for r in drawn[:800]
    ]
    same = _rows(log_record(r, "1") for r in drawn[800:1200])
    shifted = _rows(log_record(r, "1", shifted=True) for r in drawn[800:1200])
    schema = str(SCHEMA_PATH)
    passed = skew.check(same, training, schema)
    assert passed["passed"], passed["anomalies"]
    assert set(passed["measurements"]) == set(F.FEATURE_KEYS)
    failed = skew.check(shifted, training, schema)
    assert set(failed["anomalies"]) == {F.GESTATION_WEEKS, F.IS_MALE}
    linf = failed["measurements"][F.IS_MALE]["skew l_infty"]
    assert linf > skew.SKEW_THRESHOLDS["categorical_linf"]
    jsd = failed["measurements"][F.GESTATION_WEEKS]["skew jensen_shannon_divergence"]
    assert jsd > skew.SKEW_THRESHOLDS["numeric_jensen_shannon"]
    # Drift: the shifted log against the earlier, normal one.
    drift = skew.check(shifted, training, schema, previous_rows=same)
    assert drift["measurements"][F.GESTATION_WEEKS]["drift jensen_shannon_divergence"] > jsd / 2


def run_skew(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babyweight", "skew", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.e2e
def test_skew_command_gates_on_the_served_model_training_data(tiny_run, tmp_path, drawn):
    output, summary = tiny_run
    version = summary["pushed_model"].rstrip("/").rsplit("/", 1)[-1]
    rows = drawn[:400]
    good = write_log(tmp_path / "good.jsonl", [log_record(r, version) for r in rows])
    bad = write_log(tmp_path / "bad.jsonl", [log_record(r, version, True) for r in rows])

    passed = run_skew(
        "--serving-log", good, "--output", str(output), "--results", str(tmp_path / "g")
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"lineage of pushed model version {version}" in passed.stdout
    assert "skew check passed" in passed.stdout

    failed = run_skew(
        "--serving-log", bad, "--output", str(output), "--results", str(tmp_path / "b")
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    result = json.loads((tmp_path / "b" / "skew.json").read_text())
    assert set(result["anomalies"]) == {F.GESTATION_WEEKS, F.IS_MALE}
    assert (tmp_path / "b" / "anomalies.pbtxt").read_text().count("anomaly_info") == 2
    assert "SKEW CHECK FAILED on gestation_weeks, is_male" in failed.stdout

    broken = tmp_path / "broken.jsonl"
    broken.write_text(open(good).readline() + '{"features": {"is_male": 1}}\n')
    error = run_skew("--serving-log", str(broken), "--output", str(output))
    assert error.returncode == 2 and "broken.jsonl:2: field features" in error.stderr
