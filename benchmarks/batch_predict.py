"""Rows per second of batch-predict on DirectRunner against the model called in-process.

    python benchmarks/batch_predict.py --model outputs/serving_model/babyweight/<version>
    python benchmarks/batch_predict.py --output outputs               # newest blessed model

On the 100k CDC rows (../shared/data/natality/babyweight_2014_100k.csv), in one process:
- in-process: the same job as plain Python in this process: load the SavedModel, read the CSV,
  check every row with babyweight.instances, call serving_default in batches of --batch rows
  (the same checks and the same signature the Beam job uses) and write the predictions CSV;
  its model calls alone are shown on their own line;
- Beam in_memory (1 worker) and multi_processing (2 worker processes): the whole job, loading
  the model, reading the CSV, writing prediction and dead-letter CSVs and the counts (no MLMD
  record).
Rows/s is input rows over wall time; both sides pay for loading the model and writing output
(the in-process time without the model load is printed too). Target: Beam at least 50% of the
in-process rows/s, and the same row counts (predictions and dead-letter rows) everywhere.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

from babyweight import features as F
from babyweight.batch import io as batch_io
from babyweight.batch import lineage as batch_lineage
from babyweight.batch import predict as batch_predict
from babyweight.instances import InvalidInstance, parse_instance, signature_inputs
from babyweight.layout import OutputLayout, add_output_argument
from babyweight.metadata import store as mlmd

from apache_beam.options.pipeline_options import PipelineOptions

REPO = Path(__file__).resolve().parent.parent

DATA = REPO.parent / "shared" / "data" / "natality" / "babyweight_2014_100k.csv"
TARGET = 0.5
MODES = {
    "beam in_memory": ["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    "beam multi_processing x2": [
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
    ],
}


def in_process(model_dir: str, data: Path, batch: int, out: Path):
    """(total seconds, seconds after the model load, model-only seconds, predictions, invalid)."""
    import tensorflow as tf

    start = time.perf_counter()
    predict = tf.saved_model.load(model_dir).signatures[F.RAW_SIGNATURE]
    loaded = time.perf_counter()
    instances, invalid = [], 0
    with open(data, newline="") as f:
        for row in csv.DictReader(f):
            try:
                instances.append(parse_instance(row))
            except InvalidInstance:
                invalid += 1
    columns = batch_io.prediction_columns(None)
    predictions, model_s = 0, 0.0
    with open(out, "w") as f:
        f.write(",".join(columns) + "\n")
        for i in range(0, len(instances), batch):
            chunk = instances[i : i + batch]
            inputs = signature_inputs(chunk)
            model_start = time.perf_counter()
            values = predict(**{k: tf.constant(v) for k, v in inputs.items()})[F.PREDICTION_KEY]
            model_s += time.perf_counter() - model_start
            rows = [
                {**r.as_dict(), F.PREDICTION_KEY: v}
                for r, v in zip(chunk, values.numpy().tolist(), strict=True)
            ]
            f.write("\n".join(batch_io.csv_line(row, columns) for row in rows) + "\n")
            predictions += len(chunk)
    end = time.perf_counter()
    return end - start, end - loaded, model_s, predictions, invalid


def beam_run(model_dir: str, data: Path, work: Path, args: list[str], batch: int):
    prefix = str(work / "preds")
    start = time.perf_counter()
    counts = batch_predict.run_job(
        batch_io.make_source(str(data)),
        batch_io.make_sink(prefix),
        model_dir,
        PipelineOptions(["--runner=DirectRunner", *args]),
        counts_path=f"{prefix}-counts.json",
        max_batch_size=batch,
    )
    seconds = time.perf_counter() - start
    header = ",".join(batch_io.prediction_columns(None))  # one per shard
    written = [line for line in batch_io.read_text_shards(prefix, ".csv") if line != header]
    assert len(written) == counts["predictions"], (len(written), counts)
    return seconds, counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", help="pushed model dir (default: newest blessed, via MLMD)")
    add_output_argument(parser)
    parser.add_argument("--batch", type=int, default=batch_predict.MAX_BATCH_SIZE)
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    args = parser.parse_args(argv)
    model_dir = args.model
    if model_dir is None:
        store = mlmd.open_store(str(OutputLayout(args.output).require_metadata()))
        model_dir = batch_lineage.newest_blessed_model(store).model_dir
    with open(args.data) as f:
        rows = sum(1 for _ in f) - 1
    print(f"data: {args.data} ({rows} rows); model: {model_dir}; batch {args.batch}")

    with tempfile.TemporaryDirectory(prefix="bench_inproc") as work:
        total_s, loaded_s, model_s, predictions, invalid = in_process(
            model_dir, args.data, args.batch, Path(work) / "preds.csv"
        )
    base = rows / total_s
    table = [("in-process serving_default", total_s, base, predictions, invalid, "")]
    table.append(("  (model already loaded)", loaded_s, rows / loaded_s, predictions, "", ""))
    table.append(("  (model calls only)", model_s, predictions / model_s, predictions, "", ""))
    ok = True
    for name in args.modes:
        with tempfile.TemporaryDirectory(prefix="bench_batch") as work:
            seconds, counts = beam_run(model_dir, args.data, Path(work), MODES[name], args.batch)
        same = (
            counts["input_rows"] == rows
            and counts["predictions"] == predictions
            and counts["dead_letter_rows"] == invalid
        )
        ratio = (rows / seconds) / base
        ok &= same and ratio >= TARGET
        table.append(
            (name, seconds, rows / seconds, counts["predictions"], counts["dead_letter_rows"],
             f"{ratio:.0%}{'' if same else ' COUNTS DIFFER'}")
        )  # fmt: skip

    print(f"\n{'run':<28}{'seconds':>9}{'rows/s':>10}{'predicted':>11}{'dead':>7}  vs in-process")
    for name, seconds, rate, predicted, dead, note in table:
        print(f"{name:<28}{seconds:>9.1f}{rate:>10.0f}{predicted:>11}{dead!s:>7}  {note}")
    print(f"\ntarget: Beam >= {TARGET:.0%} of in-process rows/s with identical row counts: "
          f"{'met' if ok else 'NOT met'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
