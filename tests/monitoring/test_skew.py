"""The skew check: serving-log parsing, TFDV comparators, and the `skew` command on the e2e run."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

from babyweight import cli
from babyweight import features as F
from babyweight.monitoring import skew
from babyweight.monitoring.serving_log import SkewInputError, read_serving_log
from babyweight.monitoring.serving_log import parse_features as parse
from babyweight.schema import SCHEMA_PATH

import lineage_store
import pytest
from helpers import REPO, births_rows, log_record, run_babyweight


def write_log(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.fixture(scope="module")
def drawn():
    rows = births_rows()
    random.Random(7).shuffle(rows)
    return rows


def test_parse_features_maps_to_the_training_representation():
    parsed = parse(
        {F.IS_MALE: "Unknown", F.MOTHER_AGE: 30, F.PLURALITY: "Twins(2)", F.GESTATION_WEEKS: 38},
        "log:1",
    )
    assert parsed == {F.IS_MALE: "Unknown", F.MOTHER_AGE: 30, F.PLURALITY: 2, F.GESTATION_WEEKS: 38}
    multiple = {F.IS_MALE: "True", F.MOTHER_AGE: 30, F.PLURALITY: F.MULTIPLE, F.GESTATION_WEEKS: 38}
    assert parse(multiple, "log:1")[F.PLURALITY] == 2
    for label, count in zip(F.PLURALITY_VALUES[:-1], range(1, 6), strict=True):
        assert parse({**multiple, F.PLURALITY: label}, "x")[F.PLURALITY] == count


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
    with pytest.raises(SkewInputError) as error:
        read_serving_log(path)
    assert message in str(error.value)


def test_empty_or_missing_log_is_an_error(tmp_path):
    with pytest.raises(SkewInputError, match="no such file"):
        read_serving_log(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(SkewInputError, match="no rows"):
        read_serving_log(tmp_path / "empty.jsonl")


def _rows(records):
    return [parse(r["features"], "test") for r in records]


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
    return run_babyweight("skew", *args, timeout=600)


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


# -- unreadable input: always exit 2 with the line number, never 1 (skew) --------------------
def real_lines(drawn, count=4, version="1700000000") -> list[bytes]:
    return [json.dumps(log_record(r, version)).encode() for r in drawn[:count]]


def _replace(line: bytes, field: str, value: bytes) -> bytes:
    """A real log line with the JSON value of `"field": ...` replaced by raw bytes."""
    record = json.loads(line)
    marker = b"@@" + field.encode() + b"@@"
    if field in record["features"]:
        record["features"][field] = marker.decode()
    else:
        record[field] = marker.decode()
    return json.dumps(record).encode().replace(b'"' + marker + b'"', value)


MALFORMED = {
    # name: (how a real line is spoiled, what the message says)
    "NaN age": (lambda ln: _replace(ln, F.MOTHER_AGE, b"NaN"), "NaN is not a JSON number"),
    "Infinity weeks": (
        lambda ln: _replace(ln, F.GESTATION_WEEKS, b"Infinity"),
        "Infinity is not a JSON number",
    ),
    "-Infinity prediction": (
        lambda ln: _replace(ln, "prediction", b"-Infinity"),
        "-Infinity is not a JSON number",
    ),
    "1e400 age": (lambda ln: _replace(ln, F.MOTHER_AGE, b"1e400"), "'1e400' is out of range"),
    "5,000-digit age": (
        lambda ln: _replace(ln, F.MOTHER_AGE, b"9" * 5000),
        "a number of 5000 digits",
    ),
    "5,000-digit version": (
        lambda ln: _replace(ln, "model_version", b"7" * 5000),
        "a number of 5000 digits",
    ),
    "20-digit age": (
        lambda ln: _replace(ln, F.MOTHER_AGE, b"99999999999999999999"),
        "field features.mother_age: outside the 64-bit integer range",
    ),
    "age as a huge string": (
        lambda ln: _replace(ln, F.MOTHER_AGE, b'"1e30"'),
        "field features.mother_age: outside the 64-bit integer range",
    ),
    "100k-deep nesting": (
        lambda ln: _replace(ln, F.PLURALITY, b"[" * 100_000 + b"]" * 100_000),
        "nested too deeply",
    ),
    "non-UTF-8 byte": (lambda ln: ln.replace(b'"is_male": "', b'"is_male": "\xff'), "not UTF-8"),
    "Latin-1 text": (
        lambda ln: ln.replace(b'"time": "', '"time": "M\u00e4rz "'.encode("latin-1")[:-1]),
        "not UTF-8 (byte 0xe4",
    ),
    "cut short": (lambda ln: ln[: len(ln) // 2], "not JSON"),
    "version not a number": (
        lambda ln: _replace(ln, "model_version", b'"../../etc"'),
        "field model_version: expected a version number",
    ),
    "a list, not an object": (lambda ln: b"[" + ln + b"]", "field features: missing"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_an_unreadable_line_exits_2_with_its_number(tmp_path, drawn, capsys, name):
    spoil, message = MALFORMED[name]
    lines = real_lines(drawn)
    lines[2] = spoil(lines[2])
    log = tmp_path / "served.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    code = cli.call("skew", ["--serving-log", str(log), "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"babyweight skew: {log}:3: "), err
    assert message in err


def test_an_unreadable_line_through_the_command_has_no_traceback(tmp_path, drawn):
    lines = real_lines(drawn)
    column = lines[1].index(b'"is_male": "') + len(b'"is_male": "') + 1
    lines[1] = lines[1].replace(b'"is_male": "', b'"is_male": "\xfe\xff')
    log = tmp_path / "served.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    result = run_skew("--serving-log", str(log), "--output", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"babyweight skew: {log}:2: not UTF-8 (byte 0xfe at column {column})"
    ]


def test_training_data_that_cannot_be_read_exits_2_not_1(tmp_path, drawn):
    """The store leads to examples whose train split is not a TFRecord file (real CSV rows,
    gzip'd): TensorFlow fails to read them; the command says which, in one line, and prints
    nothing else: no TensorFlow start-up lines either."""
    import gzip

    lineage_store.build(tmp_path / "metadata.sqlite", root=str(tmp_path / "root"))
    split = tmp_path / "root" / "ExampleGen" / "examples" / "1" / "Split-train"
    split.mkdir(parents=True)
    rows = (REPO / "data" / "births.csv").read_bytes()[:20_000]
    (split / "data_tfrecord-00000-of-00001.gz").write_bytes(gzip.compress(rows))
    log = tmp_path / "served.jsonl"
    log.write_bytes(b"\n".join(real_lines(drawn, 50)) + b"\n")
    result = run_skew("--serving-log", str(log), "--output", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"babyweight skew: {split.parent}: cannot read the train split (")


# -- several model versions: each against its own training data -----------------------------
def two_trainings(path) -> dict:
    """A store with two pushed versions trained on different examples; the second run's
    Evaluator compares with the first model (as the baseline), so it reads the old model."""
    r = lineage_store.Recorder(path)
    ids = {}
    for run, version, baseline in (("run-1", "100", None), ("run-2", "200", "model-run-1")):
        examples = r.artifact("Examples", f"/root/{run}/ExampleGen/examples")
        r.execute("CsvExampleGen", outputs={"examples": examples}, run=run)
        model = r.artifact("Model", f"/root/{run}/Trainer/model")
        r.execute("Trainer", inputs={"examples": examples}, outputs={"model": model}, run=run)
        blessing = r.artifact("ModelBlessing", f"/root/{run}/Evaluator/blessing", blessed=1)
        inputs = {"examples": examples, "model": model}
        if baseline:
            inputs["baseline_model"] = ids[baseline]
        r.execute("Evaluator", inputs=inputs, outputs={"blessing": blessing}, run=run)
        pushed = r.artifact(
            "PushedModel",
            f"/root/{run}/Pusher/pushed_model",
            pushed=1,
            pushed_destination=f"/serving/babyweight/{version}",
            pushed_version=version,
        )
        r.execute(
            "Pusher",
            inputs={"model": model, "model_blessing": blessing},
            outputs={"pushed_model": pushed},
            run=run,
        )
        ids[f"model-{run}"] = model
    return ids


def test_each_model_version_is_traced_to_the_examples_that_trained_it(tmp_path):
    from babyweight.metadata import store as mlmd
    from babyweight.metadata.lineage import Lineage

    two_trainings(tmp_path / "metadata.sqlite")
    lin = Lineage(mlmd.open_store(tmp_path / "metadata.sqlite", readonly=True))
    first = skew.find_training_source(lin, "100")
    second = skew.find_training_source(lin, "200")
    assert first.examples_uri == "/root/run-1/ExampleGen/examples"
    assert second.examples_uri == "/root/run-2/ExampleGen/examples"
    assert "pushed model version 200" in second.how
    unknown = skew.find_training_source(lin, "300")
    assert unknown.examples_uri == second.examples_uri  # the newest, and it says so
    assert "no pushed model of version 300" in unknown.how


def test_a_log_is_split_by_model_version(tmp_path, drawn):
    records = [log_record(r, "200") for r in drawn[:3]] + [log_record(r, "100") for r in drawn[3:5]]
    records.append({k: v for k, v in log_record(drawn[5], "1").items() if k != "model_version"})
    log = read_serving_log(write_log(tmp_path / "log.jsonl", records))
    grouped = log.by_version()
    assert list(grouped) == ["100", "200", ""]
    assert [len(rows) for rows in grouped.values()] == [2, 3, 1]
    assert list(skew.select_versions(log, "200")) == ["200"]
    with pytest.raises(SkewInputError, match="--model-version 7: no rows of it .*100, 200"):
        skew.select_versions(log, "7")


def push_again(output: Path, pushed_model: str, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the run's store in which the run's Model is pushed a second time, as a new
    version, by a Pusher execution recorded by hand (a rerun of the same model pushes nothing
    now): (the copy's output directory, the new version)."""
    from babyweight.metadata import store as mlmd

    from lineage_store import Recorder

    copy = tmp_path / "run"
    copy.mkdir()
    shutil.copy(output / "metadata.sqlite", copy / "metadata.sqlite")
    store = mlmd.open_store(copy / "metadata.sqlite", readonly=True)
    nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, "babyweight"))
    model = nodes["Trainer"].outputs["model"][0].id
    version = str(int(Path(pushed_model).name) + 1)
    destination = copy / "serving_model" / "babyweight" / version
    shutil.copytree(pushed_model, destination)
    recorder = Recorder(copy / "metadata.sqlite")
    pushed = recorder.artifact(
        "PushedModel",
        str(tmp_path / "Pusher" / "pushed_model"),
        pushed=1,
        pushed_version=version,
        pushed_destination=str(destination),
    )
    recorder.execute("Pusher", inputs={"model": model}, outputs={"pushed_model": pushed})
    return copy, version


@pytest.mark.e2e
def test_a_log_of_two_versions_is_checked_per_version(tiny_run, tmp_path, drawn):
    """The server swapped models while it logged: the first version's rows are like training,
    the second's are shifted. Each is compared with its own training data, and only the second
    fails (today's whole-log comparison could not say which)."""
    run_output, first = tiny_run
    output, second = push_again(run_output, first["pushed_model"], tmp_path)
    versions = [Path(first["pushed_model"]).name, second]
    records = [log_record(r, versions[0]) for r in drawn[:300]]
    records += [log_record(r, versions[1], shifted=True) for r in drawn[300:500]]
    log = write_log(tmp_path / "swapped.jsonl", records)
    result = run_skew(
        "--serving-log", log, "--output", str(output), "--results", str(tmp_path / "r")
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == ""
    for version, rows in zip(versions, (300, 200), strict=True):
        assert f"model version {version}: {rows} served rows" in result.stdout
        assert f"lineage of pushed model version {version}" in result.stdout
    assert result.stdout.count("skew check passed") == 1
    assert f"each compared with its own training data: skew in {versions[1]}" in result.stdout
    summary = json.loads((tmp_path / "r" / "skew.json").read_text())
    assert {v: s["passed"] for v, s in summary["versions"].items()} == {
        versions[0]: True,
        versions[1]: False,
    }
    assert (tmp_path / "r" / versions[1] / "anomalies.pbtxt").is_file()
    only = run_skew(
        *("--serving-log", log, "--output", str(output), "--model-version", versions[0]),
        *("--results", str(tmp_path / "only")),
    )
    assert only.returncode == 0, only.stdout + only.stderr
