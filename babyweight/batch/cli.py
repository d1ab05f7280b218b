"""`babyweight batch-predict`: predict birth weights for files or a BigQuery table with Beam.

    babyweight batch-predict --input rows.csv --predictions preds/part   # newest blessed model
    babyweight batch-predict --model outputs/serving_model/babyweight/123 --input 'in/*.jsonl' \\
        --predictions preds.jsonl --key-column id --direct_running_mode=multi_processing \\
        --direct_num_workers=2
    babyweight batch-predict --input bq://proj.ds.births --predictions bq://proj.ds.preds \\
        --key-column id --runner DataflowRunner --project proj --region us-central1 \\
        --temp_location gs://b/tmp

`--output` is the pipeline run's output directory: without --model the newest blessed, pushed
model is found in its ML Metadata store, and the batch run is recorded there, linked to the
model (unless --no-record). Other flags go to Beam as pipeline options. The job itself is
babyweight/batch/predict.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from babyweight import features as F
from babyweight.batch import io as batch_io
from babyweight.batch.predict import MAX_BATCH_SIZE, MIN_BATCH_SIZE, run_job
from babyweight.layout import OutputLayout, add_output_argument

from apache_beam.options.pipeline_options import PipelineOptions


def resolve_model(store, model_dir: str | None):
    """--model, traced to its pipeline artifacts; without it, the newest blessed pushed model."""
    from babyweight.batch import lineage as batch_lineage

    if model_dir is None:
        record = batch_lineage.newest_blessed_model(store)
        if record is None:
            raise SystemExit("no blessed, pushed model in the metadata store; pass --model")
        return record
    if not (Path(model_dir) / "saved_model.pb").exists():
        raise SystemExit(f"--model {model_dir}: no saved_model.pb there")
    record = batch_lineage.find_model(store, model_dir)
    if record is None:
        raise SystemExit(
            f"--model {model_dir}: no Pusher in the metadata store pushed it; pass the output "
            "directory of the pipeline that made it (--output) or --no-record"
        )
    return record


def parse_args(argv=None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="babyweight batch-predict",
        description="Predict birth weights for files or a BigQuery table with Beam.",
        epilog="Other flags are Beam pipeline options (e.g. --direct_running_mode=multi_processing"
        " --direct_num_workers=2, or --project/--region/--temp_location for Dataflow).",
    )
    parser.add_argument(
        "--model", help="a pushed model dir (default: the newest blessed one, from MLMD)"
    )
    parser.add_argument(
        "--input",
        required=True,
        help="CSV glob, JSONL, TFRecord of tf.Example, bq://project.dataset.table or bq://SELECT..",
    )
    parser.add_argument("--input-format", choices=batch_io.FILE_FORMATS)
    parser.add_argument(
        "--predictions",
        required=True,
        help="where predictions go: a CSV or JSONL prefix (name.jsonl for JSONL), or bq://table",
    )
    parser.add_argument("--output-format", choices=("csv", "jsonl"))
    parser.add_argument("--key-column", help="column carried to every output row, for joins")
    parser.add_argument("--runner", default="DirectRunner")
    add_output_argument(
        parser,
        "the pipeline run's output directory: its ML Metadata store finds the model and "
        "records this run (default: outputs/)",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="needs --model; the run is not put in MLMD"
    )
    parser.add_argument(
        "--counts", help="where the counts JSON goes (default <predictions>-counts.json)"
    )
    parser.add_argument("--min-batch-size", type=int, default=MIN_BATCH_SIZE)
    parser.add_argument("--max-batch-size", type=int, default=MAX_BATCH_SIZE)
    args, beam_args = parser.parse_known_args(argv)
    if args.no_record and not args.model:
        parser.error("--no-record needs --model (the default model is found through MLMD)")
    return args, beam_args


def default_counts_path(sink, options: PipelineOptions) -> str:
    if isinstance(sink, batch_io.FileSink):
        return f"{sink.prefix}-counts.json"
    stamp = time.strftime("%Y%m%dT%H%M%S")
    temp = options.get_all_options().get("temp_location")
    base = temp or tempfile.mkdtemp(prefix="batch_predict")
    return f"{base.rstrip('/')}/batch_predict-counts-{stamp}.json"


def _uri(spec: str) -> str:
    """Local paths made absolute for MLMD; gs://, bq:// and other URIs as they are."""
    return spec if "://" in spec else os.path.abspath(spec)


def main(argv=None) -> int:
    # ML Metadata loads here, in the launching process only (workers import the job module).
    from babyweight.batch import lineage as batch_lineage
    from babyweight.metadata import store as mlmd

    args, beam_args = parse_args(argv)
    source = batch_io.make_source(args.input, args.input_format)
    sink = batch_io.make_sink(args.predictions, args.output_format)
    columns = source.columns()
    if columns is not None:
        wanted = [*F.FEATURE_KEYS, *([args.key_column] if args.key_column else [])]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise SystemExit(f"--input {args.input}: no column {', '.join(missing)} in {columns}")

    store = record = None
    if args.no_record:
        model_dir = args.model
    else:
        try:
            sqlite = OutputLayout(args.output).require_metadata()
        except FileNotFoundError as e:
            raise SystemExit(str(e)) from None
        store = mlmd.open_store(str(sqlite))
        record = resolve_model(store, args.model)
        model_dir = record.model_dir

    options = PipelineOptions(["--runner", args.runner, *beam_args])
    counts_path = args.counts or default_counts_path(sink, options)
    print(f"model: {model_dir}")
    if store is not None:
        execution, contexts = batch_lineage.start_run(
            store,
            record,
            _uri(source.uri),
            batch_io.input_format(args.input, args.input_format),
            runner=args.runner,
            key_column=args.key_column,
        )
    try:
        counts = run_job(
            source,
            sink,
            model_dir,
            options,
            key_column=args.key_column,
            counts_path=counts_path,
            min_batch_size=args.min_batch_size,
            max_batch_size=args.max_batch_size,
        )
    except BaseException as e:
        if store is not None:
            batch_lineage.finish_run(
                store, execution, contexts, output_uri=None, error=f"{type(e).__name__}: {e}"
            )
        raise
    balanced = counts["input_rows"] == counts["predictions"] + counts["dead_letter_rows"]
    if store is not None:
        execution = batch_lineage.finish_run(
            store,
            execution,
            contexts,
            output_uri=_uri(sink.uri),
            output_format=args.output_format or batch_io.output_format(args.predictions)[0],
            counts={**counts, "dead_letter_uri": _uri(sink.dead_letter_uri)},
            error=None if balanced else "counts do not add up",
        )
    print(f"input rows:       {counts['input_rows']}")
    print(f"predictions:      {counts['predictions']}  -> {sink.uri}")
    print(f"dead-letter rows: {counts['dead_letter_rows']}  -> {sink.dead_letter_uri}")
    if store is not None:
        print(f"recorded in MLMD: execution {execution.id} ({batch_lineage.EXECUTION_TYPE})")
    if not balanced:
        print("ERROR: input rows != predictions + dead-letter rows", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
