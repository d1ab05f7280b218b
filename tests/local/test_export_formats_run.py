"""Parquet and Avro exports of the same real rows give the CSV's splits and metrics (issue 26).

Three real pipeline runs (minutes): 3,000 rows of ../shared/data/natality/babyweight_2014_100k.csv
written as a CSV, as BigQuery's Parquet export and as its Avro export (tests/bigquery_exports.py).
All of it must be equal: the staged rows, the rows per split, the rows dropped and why, the
content of every example ExampleGen wrote into each split, and the test metrics (the Trainer
seeds its initial weights and its shuffle, models/model.py, so the same staged rows train the
same model; on 2026-12-02 RMSE 1.075 and MAE 0.8539 on 307 test rows for all three)."""

from __future__ import annotations

import json

from babyweight.metadata import store as mlmd

import pytest
import tensorflow as tf
from bigquery_exports import COLUMNS, real_rows, write_avro, write_parquet
from helpers import run_local_pipeline, write_rows

pytestmark = pytest.mark.e2e

ROWS = 3000
METRIC_TOLERANCE = 1e-6  # PROBE  # lb, for RMSE and MAE; see the docstring


def split_examples(output) -> dict[str, list[tuple]]:
    """Per split, every example CsvExampleGen wrote, as sorted (feature, values) tuples."""
    store = mlmd.open_store(output / "metadata.sqlite", readonly=True)
    nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, "babyweight"))
    uri = nodes["CsvExampleGen"].outputs["examples"][0].uri
    found = {}
    for split in sorted(tf.io.gfile.glob(f"{uri}/Split-*")):
        files = sorted(tf.io.gfile.glob(f"{split}/*"))
        examples = []
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            features = tf.train.Example.FromString(record.numpy()).features.feature
            examples.append(tuple(sorted((k, str(v)) for k, v in features.items())))
        found[split.rsplit("/", 1)[1]] = sorted(examples)
    return found


def run(tmp_path, data) -> tuple[dict, dict, bytes]:
    output = tmp_path / f"out-{data.suffix[1:]}"
    result = run_local_pipeline(data, output)
    assert result.returncode == 0, f"{data.name}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    summary = json.loads((output / "run_summary.json").read_text())
    staged = (output / "staged" / "examples" / "span-0" / "data.csv").read_bytes()
    return summary, split_examples(output), staged


def test_parquet_and_avro_exports_give_the_csvs_splits_examples_and_metrics(tmp_path):
    rows = real_rows(ROWS)
    csv = run(tmp_path, write_rows(tmp_path / "rows.csv", COLUMNS, rows))
    assert sum(csv[0]["splits"].values()) + csv[0]["dropped"]["total"] == ROWS
    for data in (
        write_parquet(tmp_path / "rows.parquet", rows),
        write_avro(tmp_path / "rows.avro", rows),
    ):
        summary, examples, staged = run(tmp_path, data)
        assert staged == csv[2], data.name
        assert summary["splits"] == csv[0]["splits"], data.name
        assert summary["dropped"]["reasons"] == csv[0]["dropped"]["reasons"], data.name
        assert examples == csv[1], data.name
        assert summary["input_formats"] == {str(data): "bigquery"}
        ours, theirs = summary["metrics"]["Overall"], csv[0]["metrics"]["Overall"]
        print(data.name, "Overall", ours, "CSV", theirs)
        assert ours["example_count"] == csv[0]["splits"]["test"]
        assert ours == theirs, data.name
