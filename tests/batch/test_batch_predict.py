"""batch-predict: files or BigQuery in, predictions and dead-letter rows out, run in MLMD.

The end-to-end tests use the pushed model of the tiny pipeline run (`tiny_run`) and run the real
Beam job on DirectRunner; predictions are compared with the model's `serving_default` called
in-process. BigQuery is the one thing replaced: its read and write transforms are swapped for
in-memory collections (named doubles below), so no test reaches the live service.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

from babyweight import features as F
from babyweight.batch import cli as batch_cli
from babyweight.batch import io as batch_io
from babyweight.batch import lineage as batch_lineage
from babyweight.batch import predict as batch_predict
from babyweight.errors import UsageError
from babyweight.instances import InvalidInstance, parse_instance, signature_inputs
from babyweight.metadata import store as mlmd

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from helpers import REPO, SHARED_DATA, write_rows

GOOD_ROWS = 40  # rows of data/births.csv used as good input
BAD_ROWS = {  # id -> (row overrides or a raw line, the field the dead-letter row must name)
    "bad-plurality": ({F.PLURALITY: "9"}, F.PLURALITY),
    "bad-age": ({F.MOTHER_AGE: "99"}, F.MOTHER_AGE),
    "bad-weeks": ({F.GESTATION_WEEKS: "forty"}, F.GESTATION_WEEKS),
    "bad-sex": ({F.IS_MALE: "maybe"}, F.IS_MALE),
    "no-age": ({F.MOTHER_AGE: ""}, F.MOTHER_AGE),
}
COLUMNS = ["id", *F.FEATURE_KEYS]


def good_rows(n: int = GOOD_ROWS, every: int = 7) -> list[dict]:
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = list(csv.DictReader(f))[::every][:n]
    return [{"id": f"row-{i}", **{k: r[k] for k in F.FEATURE_KEYS}} for i, r in enumerate(rows)]


def write_csv(path, rows: list[dict]):
    return write_rows(path, COLUMNS, [[r[c] for c in COLUMNS] for r in rows])


def serving_default(model_dir, rows: list[dict]) -> dict[str, float]:
    """The model called in-process, as tests/test_e2e.py does: id -> prediction."""
    predict = tf.saved_model.load(str(model_dir)).signatures[F.RAW_SIGNATURE]
    instances = [parse_instance(r) for r in rows]
    inputs = {k: tf.constant(v) for k, v in signature_inputs(instances).items()}
    out = predict(**inputs)[F.PREDICTION_KEY].numpy()
    return {r["id"]: float(v) for r, v in zip(rows, out, strict=True)}


def read_output(prefix: str, fmt: str = "csv") -> list[dict]:
    lines = batch_io.read_text_shards(prefix, f".{fmt}")
    if fmt == "jsonl":
        return [json.loads(line) for line in lines]
    header = lines[0]
    return list(csv.DictReader([header] + [line for line in lines if line != header]))


def run_cli(tiny_run, *args: str) -> int:
    output, _ = tiny_run
    return batch_cli.main(["--output", str(output), *args])


def predictions_by_id(rows: list[dict]) -> dict[str, float]:
    return {r["id"]: float(r[F.PREDICTION_KEY]) for r in rows}


# ------------------------------------------------------------------------------ no model needed


@pytest.mark.parametrize(
    "spec, fmt",
    [
        ("in/*.csv", "csv"),
        ("rows.jsonl", "jsonl"),
        ("gs://b/rows.json", "jsonl"),
        ("part.tfrecord.gz", "tfrecord"),
        ("Split-test/data_tfrecord-00000-of-00001.gz", "tfrecord"),
        ("bq://p.d.t", "bigquery"),
        ("bq://SELECT 1", "bigquery"),
    ],
)
def test_input_format_from_name(spec, fmt):
    assert batch_io.input_format(spec) == fmt


def test_unknown_input_format_asks_for_the_flag():
    with pytest.raises(ValueError, match="--input-format"):
        batch_io.input_format("rows.parquet")


def test_bigquery_specs():
    assert batch_io.bigquery_table("bq://my-proj.natality.births") == "my-proj:natality.births"
    assert batch_io.bigquery_table("bq://SELECT * FROM `p.d.t`") is None
    source = batch_io.make_source("bq://SELECT is_male FROM `p.d.t` LIMIT 5")
    assert source.read_kwargs() == {
        "query": "SELECT is_male FROM `p.d.t` LIMIT 5",
        "use_standard_sql": True,
    }
    assert batch_io.output_format("preds.jsonl") == ("jsonl", "preds")
    assert batch_io.output_format("out/preds") == ("csv", "out/preds")
    with pytest.raises(ValueError, match="bq://project.dataset.table"):
        batch_io.output_format("bq://SELECT 1")


@pytest.mark.parametrize(
    "flags, cores, threads",
    [
        (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], 2, 1),
        (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], 8, 4),
        (["--direct_running_mode=multi_processing", "--direct_num_workers=3"], 2, 1),
        # --direct_num_workers=0: as many workers as cores
        (["--direct_running_mode=multi_processing", "--direct_num_workers=0"], 8, 1),
        (["--direct_running_mode=in_memory"], 8, None),  # one process: TF takes every core
        (["--direct_running_mode=multi_threading", "--direct_num_workers=2"], 8, None),
        (["--runner=direct", "--direct_running_mode=multi_processing"], 8, 8),  # 1 worker
        (["--runner=DataflowRunner", "--direct_running_mode=multi_processing"], 8, None),
    ],
)
def test_multi_processing_workers_share_the_cores_among_their_tf_threads(
    flags, cores, threads, monkeypatch
):
    monkeypatch.setattr(batch_predict.os, "cpu_count", lambda: cores)
    assert (
        batch_predict.worker_tf_threads(PipelineOptions(["--runner=DirectRunner", *flags]))
        == threads
    )


LIMIT_THREADS = """
from babyweight.batch.predict import limit_tf_threads
import tensorflow as tf
{before}
limit_tf_threads(1)
print(tf.config.threading.get_intra_op_parallelism_threads(),
      tf.config.threading.get_inter_op_parallelism_threads(), int(tf.reduce_sum([1, 2])))
"""


@pytest.mark.parametrize("before, want", [("", "1 1 3"), ("tf.constant(0)", "0 0 3")])
def test_tf_threads_are_limited_in_a_fresh_process_and_left_once_tf_runs(before, want):
    # A worker process limits TF before TF starts; where it already runs (in_memory, in the
    # launching process) its pools cannot change, and the job goes on with them.
    import subprocess
    import sys

    code = LIMIT_THREADS.format(before=before)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == want


# -------------------------------------------------------------------- with the tiny run's model


@pytest.mark.e2e
def test_csv_predictions_equal_serving_default(tiny_run, pushed_model_dir, tmp_path, capsys):
    rows = good_rows()
    data = write_csv(tmp_path / "rows.csv", rows)
    prefix = str(tmp_path / "out" / "preds")
    code = run_cli(
        tiny_run,
        *("--model", str(pushed_model_dir), "--input", str(data), "--predictions", prefix),
        *("--key-column", "id"),
    )
    assert code == 0
    out = read_output(prefix)
    assert len(out) == len(rows)
    got = predictions_by_id(out)
    want = serving_default(pushed_model_dir, rows)
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-5)
    printed = capsys.readouterr().out
    assert f"input rows:       {len(rows)}" in printed
    assert f"predictions:      {len(rows)}" in printed
    assert "dead-letter rows: 0" in printed


@pytest.mark.e2e
def test_mixed_rows_add_up_and_dead_letter_names_each_reason(
    tiny_run, pushed_model_dir, tmp_path, capsys
):
    rows = good_rows(12)
    base = rows[0]
    bad = [{**base, **overrides, "id": key} for key, (overrides, _) in BAD_ROWS.items()]
    data = write_csv(tmp_path / "mixed.csv", rows[:6] + bad + rows[6:])
    with open(data, "a") as f:
        f.write("short-row,True,30\n")  # too few fields: a parse error
    prefix = str(tmp_path / "out" / "mixed")
    code = run_cli(
        tiny_run,
        *("--model", str(pushed_model_dir), "--input", str(data), "--predictions", prefix),
        *("--key-column", "id"),
    )
    assert code == 0
    counts = json.loads((tmp_path / "out" / "mixed-counts.json").read_text())
    input_lines = len(data.read_text().splitlines()) - 1  # counted here, outside Beam
    assert counts == {
        "input_rows": input_lines,
        "predictions": len(rows),
        "dead_letter_rows": len(BAD_ROWS) + 1,
    }
    assert counts["input_rows"] == counts["predictions"] + counts["dead_letter_rows"]
    assert len(read_output(prefix)) == counts["predictions"]
    dead = {r["id"] or r["input"]: r for r in read_output(f"{prefix}-dead_letter")}
    assert len(dead) == counts["dead_letter_rows"]
    for key, (_, field) in BAD_ROWS.items():
        assert dead[key]["field"] == field, dead[key]
        assert dead[key]["reason"].startswith(f"{field}: "), dead[key]
    assert dead["bad-plurality"]["value"] == "9"
    assert "outside the schema's range" in dead["bad-age"]["reason"]
    assert dead["short-row,True,30"]["reason"] == "csv: expected 5 fields, got 3"
    printed = capsys.readouterr().out
    assert f"dead-letter rows: {len(BAD_ROWS) + 1}" in printed


def write_jsonl(path, rows: list[dict]):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_tfrecord(path, rows: list[dict]):
    """tf.Example as ExampleGen writes them: strings as bytes, integers as int64."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for r in rows:
            example = tf.train.Example()
            feature = example.features.feature
            for key in ("id", F.IS_MALE):
                feature[key].bytes_list.value.append(r[key].encode())
            for key in (F.MOTHER_AGE, F.PLURALITY, F.GESTATION_WEEKS):
                feature[key].int64_list.value.append(int(r[key]))
            writer.write(example.SerializeToString())
    return path


@pytest.mark.e2e
def test_jsonl_and_tfrecord_inputs_give_the_csv_predictions(tiny_run, pushed_model_dir, tmp_path):
    rows = good_rows(25, every=11)
    inputs = {
        "csv": write_csv(tmp_path / "rows.csv", rows),
        "jsonl": write_jsonl(tmp_path / "rows.jsonl", rows),
        "tfrecord": write_tfrecord(tmp_path / "rows.tfrecord", rows),
    }
    got = {}
    for name, path in inputs.items():
        output = str(tmp_path / f"from_{name}.jsonl")
        code = run_cli(
            tiny_run,
            *("--model", str(pushed_model_dir), "--input", str(path), "--predictions", output),
            *("--key-column", "id"),
        )
        assert code == 0, name
        got[name] = predictions_by_id(read_output(str(tmp_path / f"from_{name}"), "jsonl"))
    assert len(got["csv"]) == len(rows)
    for name in ("jsonl", "tfrecord"):
        assert got[name].keys() == got["csv"].keys(), name
        np.testing.assert_allclose(
            [got[name][k] for k in got["csv"]], list(got["csv"].values()), rtol=1e-6
        )


@pytest.mark.e2e
def test_no_row_lost_under_multi_processing_with_two_workers(tiny_run, pushed_model_dir, tmp_path):
    # tfdv#247: rows silently missing under DirectRunner multi_processing. Count on both sides.
    rows = good_rows(400, every=3)
    bad = [{**rows[0], F.PLURALITY: "7", "id": f"bad-{i}"} for i in range(9)]
    data = write_csv(tmp_path / "many.csv", rows + bad)
    prefix = str(tmp_path / "out" / "mp")
    code = run_cli(
        tiny_run,
        *("--model", str(pushed_model_dir), "--input", str(data), "--predictions", prefix),
        *("--key-column", "id", "--min-batch-size", "16", "--max-batch-size", "64"),
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
    )
    assert code == 0
    counts = json.loads((tmp_path / "out" / "mp-counts.json").read_text())
    assert counts == {"input_rows": 409, "predictions": 400, "dead_letter_rows": 9}
    out = read_output(prefix)
    assert sorted(r["id"] for r in out) == sorted(r["id"] for r in rows)
    assert len(read_output(f"{prefix}-dead_letter")) == 9


class InMemoryBigQueryRead:
    """Test double for beam.io.ReadFromBigQuery: the rows a query would return, from memory.
    It records the arguments the job passed, so the test checks the query reaches the IO."""

    def __init__(self, rows: list[dict]):
        self.rows, self.calls = rows, []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return beam.Create(self.rows)


class InMemoryBigQueryWrite:
    """Test double for beam.io.WriteToBigQuery: each table becomes a local JSONL file of the
    rows that would have been inserted; the table and schema arguments are recorded."""

    def __init__(self, directory):
        self.directory, self.calls = directory, []

    def __call__(self, *, table, schema, **kwargs):
        self.calls.append({"table": table, "schema": schema, **kwargs})
        path = str(self.directory / table.replace(":", "_"))
        return beam.Map(json.dumps) | beam.io.WriteToText(path, file_name_suffix=".jsonl")

    def rows(self, table: str) -> list[dict]:
        prefix = str(self.directory / table.replace(":", "_"))
        return [json.loads(line) for line in batch_io.read_text_shards(prefix, ".jsonl")]


@pytest.mark.e2e
def test_bigquery_in_and_out_with_the_io_swapped_for_memory(pushed_model_dir, tmp_path):
    # The live BigQuery service is NOT reached: ReadFromBigQuery and WriteToBigQuery are replaced
    # by the in-memory doubles above; the rest of the job is the real one.
    rows = good_rows(20)
    bq_rows = [  # as BigQuery returns natality rows: BOOL and INTEGER columns, nulls as None
        {
            "id": r["id"],
            F.IS_MALE: r[F.IS_MALE] == "True",
            F.MOTHER_AGE: int(r[F.MOTHER_AGE]),
            F.PLURALITY: int(r[F.PLURALITY]),
            F.GESTATION_WEEKS: int(r[F.GESTATION_WEEKS]),
        }
        for r in rows
    ]
    bq_rows.append({**bq_rows[0], "id": "null-weeks", F.GESTATION_WEEKS: None})
    read = InMemoryBigQueryRead(bq_rows)
    write = InMemoryBigQueryWrite(tmp_path)
    query = "bq://SELECT * FROM `proj.natality.births` LIMIT 21"
    source = batch_io.make_source(query, read_transform=read)
    sink = batch_io.make_sink("bq://proj.natality.predictions", write_transform=write)
    counts = batch_predict.run_job(
        source,
        sink,
        str(pushed_model_dir),
        PipelineOptions(["--runner=DirectRunner"]),
        key_column="id",
        counts_path=str(tmp_path / "counts.json"),
    )
    assert counts == {"input_rows": 21, "predictions": 20, "dead_letter_rows": 1}
    assert read.calls == [
        {"query": "SELECT * FROM `proj.natality.births` LIMIT 21", "use_standard_sql": True}
    ]
    tables = {c["table"]: c for c in write.calls}
    assert set(tables) == {"proj:natality.predictions", "proj:natality.predictions_dead_letter"}
    schema = {f["name"]: f["type"] for f in tables["proj:natality.predictions"]["schema"]["fields"]}
    assert schema == {
        "id": "STRING",
        F.IS_MALE: "STRING",
        F.MOTHER_AGE: "INTEGER",
        F.PLURALITY: "STRING",
        F.GESTATION_WEEKS: "INTEGER",
        F.PREDICTION_KEY: "FLOAT",
    }
    got = predictions_by_id(write.rows("proj:natality.predictions"))
    want = serving_default(pushed_model_dir, rows)
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-5)
    [dead] = write.rows("proj:natality.predictions_dead_letter")
    assert dead["id"] == "null-weeks" and dead["field"] == F.GESTATION_WEEKS
    assert dead["reason"] == f"{F.GESTATION_WEEKS}: missing"


@pytest.mark.e2e
def test_run_is_recorded_in_mlmd_against_the_pipelines_model(tiny_run, tmp_path, capsys):
    output, summary = tiny_run
    data = write_csv(tmp_path / "rows.csv", good_rows(10))
    prefix = str(tmp_path / "out" / "recorded")
    # No --model: the newest blessed model is found through MLMD.
    assert run_cli(tiny_run, "--input", str(data), "--predictions", prefix) == 0
    assert f"model: {summary['pushed_model']}" in capsys.readouterr().out

    store = mlmd.open_store(output / "metadata.sqlite")
    nodes = mlmd.run_nodes(store, summary["run_id"])
    trained = nodes["Pusher"].inputs["model"][0]
    assert trained.id == nodes["Trainer"].outputs["model"][0].id
    runs = store.get_executions_by_type(batch_lineage.EXECUTION_TYPE)
    [run] = [e for e in runs if mlmd.custom_property(e, "dead_letter_uri", "").startswith(prefix)]
    assert mlmd.STATE_NAMES[run.last_known_state] == "COMPLETE"
    assert mlmd.custom_property(run, "input_rows") == 10
    assert mlmd.custom_property(run, "predictions") == 10
    events = store.get_events_by_execution_ids([run.id])
    linked = {
        (mlmd.metadata_store_pb2.Event.Type.Name(e.type), e.path.steps[0].key): e.artifact_id
        for e in events
    }
    assert set(linked) == {("INPUT", "model"), ("INPUT", "examples"), ("OUTPUT", "predictions")}
    assert linked[("INPUT", "model")] == trained.id  # the pipeline's own Model artifact
    [data_artifact] = store.get_artifacts_by_id([linked[("INPUT", "examples")]])
    [predictions] = store.get_artifacts_by_id([linked[("OUTPUT", "predictions")]])
    assert data_artifact.uri == str(data)
    assert predictions.uri == prefix
    contexts = {c.type for c in store.get_contexts_by_execution(run.id)}
    assert contexts == {"pipeline", batch_lineage.CONTEXT_TYPE}
    # "Which model made these predictions": from the prediction artifact back to the Model.
    [made_by] = [
        e.execution_id
        for e in store.get_events_by_artifact_ids([predictions.id])
        if e.type == mlmd.metadata_store_pb2.Event.OUTPUT
    ]
    assert made_by == run.id


@pytest.mark.e2e
def test_bad_bytes_and_quoted_newlines_add_up_by_record(
    tiny_run, pushed_model_dir, tmp_path, capsys
):
    # Issue 11: one byte that is not UTF-8 failed the whole job (traceback, beam-temp-* left,
    # MLMD execution FAILED); a quoted newline made two dead-letter rows and lost the key.
    output, _ = tiny_run
    rows = good_rows(30, every=11)
    rows[5]["id"] = "quoted-newline"
    data = tmp_path / "in" / "rows.csv"
    data.parent.mkdir()
    with open(data, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*COLUMNS, "note"])
        for i, r in enumerate(rows):
            writer.writerow([*(r[c] for c in COLUMNS), "line one\nline two" if i == 5 else ""])
    latin1 = {**rows[9], "id": "latin-1"}
    with open(data, "ab") as f:  # a real row whose note is Latin-1, not UTF-8
        f.write(",".join(latin1[c] for c in COLUMNS).encode() + b",na\xefve\n")
    prefix = tmp_path / "out" / "preds"

    code = run_cli(tiny_run, "--input", str(data), "--predictions", str(prefix),
                   "--key-column", "id")  # fmt: skip

    assert code == 0
    counts = json.loads((tmp_path / "out" / "preds-counts.json").read_text())
    assert counts == {"input_rows": 31, "predictions": 30, "dead_letter_rows": 1}
    got = predictions_by_id(read_output(str(prefix)))
    want = serving_default(pushed_model_dir, rows)
    assert got.keys() == want.keys()  # the quoted-newline row kept its key
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-5)
    [dead] = read_output(f"{prefix}-dead_letter")
    assert dead["field"] == "row" and dead["reason"] == "csv: not UTF-8 text (column 'note')"
    assert "na\\xefve" in dead["input"]
    assert not list((tmp_path / "out").glob("beam-temp-*"))
    store = mlmd.open_store(output / "metadata.sqlite", readonly=True)
    runs = store.get_executions_by_type(batch_lineage.EXECUTION_TYPE)
    [run] = [e for e in runs if mlmd.custom_property(e, "input_rows") == 31]
    assert mlmd.STATE_NAMES[run.last_known_state] == "COMPLETE"
    assert "dead-letter rows: 1" in capsys.readouterr().out


@pytest.mark.e2e
def test_vectorised_predictions_equal_serving_default_on_every_spelling(
    pushed_model_dir, tiny_run, tmp_path
):
    # The CSV path reads columns with pyarrow and checks each distinct value once; every valid
    # record of the bad-rows file (odd but valid spellings included) must get the prediction
    # serving_default gives the instance parse_instance reads from it.
    from bad_rows import KEY, write_bad_rows_csv

    path, _ = write_bad_rows_csv(tmp_path / "bad_rows.csv")
    prefix = str(tmp_path / "out" / "p")
    code = run_cli(tiny_run, "--model", str(pushed_model_dir), "--no-record", "--input",
                   str(path), "--predictions", prefix, "--key-column", KEY)  # fmt: skip
    assert code == 0
    with open(path, newline="") as f:
        records = [r for r in csv.DictReader(f) if r.get(KEY) and None not in r]  # not short/long
    valid = []
    for r in records:
        try:
            parse_instance(r)
            valid.append(r)
        except InvalidInstance:
            pass
    assert len(valid) > 35
    got = predictions_by_id(read_output(prefix))
    want = serving_default(pushed_model_dir, valid)
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-6)


@pytest.mark.e2e
def test_a_second_run_on_a_prefix_needs_overwrite_and_then_leaves_only_its_shards(
    pushed_model_dir, tiny_run, tmp_path
):
    # Issue 11: old shards stayed beside new ones (`cat` gave 999,185 rows, counts said 5).
    prefix = str(tmp_path / "out" / "p")
    args = ["--model", str(pushed_model_dir), "--no-record", "--predictions", prefix]
    big = write_csv(tmp_path / "big.csv", good_rows(300, every=3))
    small = write_csv(tmp_path / "small.csv", good_rows(5))
    assert run_cli(tiny_run, *args, "--input", str(big), "--direct_running_mode=multi_processing",
                   "--direct_num_workers=2") == 0  # fmt: skip
    with pytest.raises(UsageError, match="an earlier run's outputs are there"):
        run_cli(tiny_run, *args, "--input", str(small))
    assert run_cli(tiny_run, *args, "--input", str(small), "--overwrite") == 0
    assert len(read_output(prefix)) == 5
    assert json.loads((tmp_path / "out" / "p-counts.json").read_text())["predictions"] == 5


@pytest.mark.e2e
def test_a_run_killed_with_sigkill_leaves_nothing_a_reader_picks_up(pushed_model_dir, tmp_path):
    # Issue 29 item 6: a kill -9 left beam-temp-* beside the prefix with a half-written CSV
    # that a recursive *.csv reader picked up, and neither a rerun nor --overwrite removed it.
    out = tmp_path / "out"
    args = [sys.executable, "-m", "babyweight", "batch-predict", "--model", str(pushed_model_dir),
            "--no-record", "--input", str(SHARED_DATA / "babyweight_2014_100k.csv"),
            "--predictions", str(out / "preds")]  # fmt: skip
    job = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not any(p.is_file() for p in out.rglob("*")) and job.poll() is None:
        assert time.monotonic() < deadline, "the job wrote no file"
        time.sleep(0.02)
    os.kill(job.pid, signal.SIGKILL)  # as soon as the job has begun to write
    job.wait()
    assert job.returncode == -signal.SIGKILL, "the job ended before it could be killed"
    assert glob.glob(f"{out}/**/*.csv", recursive=True) == []
    assert list(out.rglob("*.csv")) == [] and list(out.rglob("*.jsonl")) == []
    assert not (out / "preds-counts.json").exists()

    rerun = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "removed what an earlier run that did not finish left" in rerun.stdout
    names = sorted(p.name for p in out.iterdir())
    assert "preds-counts.json" in names and ".staging" not in names, names
    shards = [n for n in names if n != "preds-counts.json"]
    assert all(n.startswith(("preds-0", "preds-dead_letter-0")) for n in shards), names
    counts = json.loads((out / "preds-counts.json").read_text())
    assert counts["input_rows"] == counts["predictions"] + counts["dead_letter_rows"] > 90_000
