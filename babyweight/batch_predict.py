"""Batch prediction on Beam: files or BigQuery in, predictions and dead-letter rows out.

    batch-predict --input rows.csv --output preds/part          # newest blessed model (MLMD)
    batch-predict --model outputs/serving_model/babyweight/123 --input 'in/*.jsonl' \\
        --output preds.jsonl --key-column id --direct_running_mode=multi_processing \\
        --direct_num_workers=2
    batch-predict --input bq://proj.ds.births --output bq://proj.ds.preds --key-column id \\
        --runner DataflowRunner --project proj --region us-central1 --temp_location gs://b/tmp

Records are batched right after reading (BatchElements, up to --max-batch-size), so Beam moves
one element per batch, not per row. Each record is parsed and checked by babyweight.instances (the
schema's domains); records that fail go to the dead-letter output with the field, the value and
the reason. The valid rows of a batch go through Beam's RunInference with a small model handler
of ours: it loads the pushed SavedModel once per worker process and calls its `serving_default`
signature (raw features) on the batch; the key column travels with each row. Beam's
TFModelHandlerTensor does not fit: it loads with Keras and calls the model on one stacked
tensor, while this model takes four named raw tensors through the Transform graph (and its
module imports tensorflow_hub, which needs pkg_resources, absent from this environment).

The three counts (input rows, predictions, dead-letter rows) are computed inside the pipeline as
data and written to `<output>-counts.json`, not taken from runner metrics; the command prints them
and fails unless input rows = predictions + dead-letter rows. The run is recorded in the
pipeline's MLMD store (see babyweight/batch_lineage.py). Other flags go to Beam as options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

# The Google Cloud client libraries warn about Python 3.10 on import, one line per library.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")

import apache_beam as beam  # noqa: E402
from apache_beam.ml.inference.base import (  # noqa: E402
    ModelHandler,
    PredictionResult,
    RunInference,
)
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402

from babyweight import batch_io, model_store  # noqa: E402
from babyweight.instances import (  # noqa: E402
    InvalidInstance,
    parse_instance,
)
from models import features as F  # noqa: E402
from pipeline import configs  # noqa: E402

DEAD = "dead_letter"
MIN_BATCH_SIZE = 64
MAX_BATCH_SIZE = 2048
ROW_BYTES = 64  # about the size of one Instance, for RunInference's byte metrics


# A row batch: the valid rows of one batch of input records, as (key, Instance) pairs.
RowBatch = list


class RawSignatureModelHandler(ModelHandler[RowBatch, PredictionResult, object]):
    """Loads a pushed SavedModel (once per worker process; RunInference shares it between
    threads) and runs its serving_default signature.

    Its unit is a row batch: rows are batched by BatchElements right after reading, so the model
    gets up to --max-batch-size rows per call and Beam moves one element per batch instead of
    one per row. RunInference passes one row batch per call (`max_batch_size` 1)."""

    def __init__(self, model_dir: str):
        super().__init__()
        self._model_dir = model_dir

    def load_model(self) -> model_store.LoadedModel:
        return model_store.load(self._model_dir)

    def run_inference(self, batch: Sequence[RowBatch], model, inference_args=None):
        return [
            PredictionResult(rows, model.predict([i for _, i in rows]), self._model_dir)
            for rows in batch
        ]

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": 1}

    def get_num_bytes(self, batch: Sequence[RowBatch]) -> int:
        # For RunInference's metrics only; the default pickles every batch to measure it.
        return sum(len(rows) for rows in batch) * ROW_BYTES

    def get_metrics_namespace(self) -> str:
        return "babyweight_batch_predict"


def _value_text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def dead_row(key_column, key, field, value, reason, raw) -> dict:
    row = {
        "field": field,
        "value": _value_text(value),
        "reason": reason,
        "input": raw if isinstance(raw, str) else json.dumps(raw, default=str),
    }
    if key_column:
        row[key_column] = key
    return row


class ParseAndValidate(beam.DoFn):
    """A batch of input records -> one RowBatch of valid (key, Instance) pairs, and one
    dead-letter row per record that could not be parsed or failed the schema's checks (named
    field and reason). `parse` is the source's record parser.

    The schema's text travels with the DoFn (workers need not have the repository), and is
    written to a local file once per DoFn instance for babyweight.instances to read."""

    def __init__(self, parse, key_column: str | None, schema_text: str):
        self._parse = parse
        self._key_column = key_column
        self._schema_text = schema_text
        self._schema_path = None

    def setup(self):
        handle, self._schema_path = tempfile.mkstemp(suffix=".pbtxt", prefix="schema")
        with os.fdopen(handle, "w") as f:
            f.write(self._schema_text)

    def check(self, record):
        """(key, Instance, None) or (key, None, dead-letter row)."""
        raw, error = self._parse(record)
        key_column = self._key_column
        key = raw.get(key_column) if key_column and isinstance(raw, dict) else None
        if error:
            return key, None, dead_row(key_column, key, "row", None, error, raw)
        if key_column and (key is None or key == ""):
            reason = f"key column {key_column!r} is missing or empty"
            return key, None, dead_row(key_column, key, key_column, key, reason, raw)
        try:
            return key, parse_instance(raw, schema_path=self._schema_path), None
        except InvalidInstance as e:
            reason = f"{e.field}: {e.reason}"
            return key, None, dead_row(key_column, key, e.field, e.value, reason, raw)

    def process(self, records):
        valid, dead = [], []
        for record in records:
            key, instance, dead_letter = self.check(record)
            if instance is None:
                dead.append(dead_letter)
            else:
                valid.append((key, instance))
        if valid:
            yield valid
        if dead:
            yield beam.pvalue.TaggedOutput(DEAD, dead)


def prediction_rows(result: PredictionResult, key_column: str | None) -> list[dict]:
    rows = []
    for (key, instance), value in zip(result.example, result.inference, strict=True):
        row = {  # by hand: dataclasses.asdict deep-copies, slow on every row
            F.IS_MALE: instance.is_male,
            F.MOTHER_AGE: instance.mother_age,
            F.PLURALITY: instance.plurality,
            F.GESTATION_WEEKS: instance.gestation_weeks,
            F.PREDICTION_KEY: value,
        }
        if key_column:
            row[key_column] = key
        rows.append(row)
    return rows


def failed_batch_rows(failed, key_column: str | None) -> list[dict]:
    """Rows of the row batches the model raised on (RunInference's dead-letter output)."""
    batches, error = failed
    reason = f"model: {type(error).__name__}: {str(error)[:300]}"
    return [
        dead_row(key_column, key, "model", None, reason, instance.as_dict())
        for rows in batches
        for key, instance in rows
    ]


def build(
    pipeline,
    source,
    sink,
    model_dir: str,
    *,
    key_column: str | None = None,
    counts_path: str,
    schema_text: str,
    min_batch_size: int = MIN_BATCH_SIZE,
    max_batch_size: int = MAX_BATCH_SIZE,
) -> None:
    """The whole job on `pipeline`: read, batch, parse and validate, RunInference, write, count."""
    records = source.read(pipeline)
    batches = records | "Batch" >> beam.BatchElements(
        min_batch_size=min_batch_size, max_batch_size=max_batch_size
    )
    checked = batches | "ParseAndValidate" >> beam.ParDo(
        ParseAndValidate(source.parser(), key_column, schema_text)
    ).with_outputs(DEAD, main="valid")
    predicted, failed = (
        checked.valid
        | "RunInference"
        >> RunInference(RawSignatureModelHandler(model_dir)).with_exception_handling()
    )
    rows = predicted | "ToRows" >> beam.Map(prediction_rows, key_column)
    model_dead = failed.failed_inferences | "FailedBatchRows" >> beam.Map(
        failed_batch_rows, key_column
    )
    dead = (checked[DEAD], model_dead) | "AllDeadLetter" >> beam.Flatten()

    sink.write(rows, batch_io.prediction_columns(key_column), label="Predictions")
    sink.write(dead, batch_io.dead_letter_columns(key_column), dead_letter=True, label="Dead")

    # The counts, as data: the records read, the rows handed to each output.
    def count(pcoll, label):
        sizes = pcoll | f"Size{label}" >> beam.Map(len)
        return beam.pvalue.AsSingleton(sizes | f"Count{label}" >> beam.CombineGlobally(sum))

    counts = {
        "input_rows": count(batches, "Input"),
        "predictions": count(rows, "Predictions"),
        "dead_letter_rows": count(dead, "DeadLetter"),
    }
    (
        pipeline
        | "CountsSeed" >> beam.Create([None])
        | "CountsJson" >> beam.Map(lambda _, **n: json.dumps(n, sort_keys=True), **counts)
        | "WriteCounts" >> beam.io.WriteToText(counts_path, shard_name_template="", num_shards=1)
    )


def read_counts(counts_path: str) -> dict[str, int]:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(counts_path) as f:
        return json.loads(f.read().decode("utf-8"))


def run_job(source, sink, model_dir: str, options: PipelineOptions, **kwargs) -> dict[str, int]:
    """Runs the job to the end and returns the three counts."""
    kwargs.setdefault("schema_text", Path(configs.SCHEMA_PATH).read_text())
    pipeline = beam.Pipeline(options=options)
    build(pipeline, source, sink, model_dir, **kwargs)
    pipeline.run().wait_until_finish()
    return read_counts(kwargs["counts_path"])


def resolve_model(store, model_dir: str | None):
    """--model, traced to its pipeline artifacts; without it, the newest blessed pushed model."""
    from babyweight import batch_lineage

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
            f"--model {model_dir}: no Pusher in the metadata store pushed it; pass the store of "
            "the pipeline that made it (--metadata) or --no-record"
        )
    return record


def parse_args(argv=None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="batch-predict",
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
        "--output", required=True, help="CSV or JSONL prefix (name.jsonl for JSONL), or bq://table"
    )
    parser.add_argument("--output-format", choices=("csv", "jsonl"))
    parser.add_argument("--key-column", help="column carried to every output row, for joins")
    parser.add_argument("--runner", default="DirectRunner")
    parser.add_argument(
        "--pipeline-output",
        type=Path,
        default=configs.DEFAULT_OUTPUT,
        help="the pipeline's --output dir; its metadata.sqlite records the run",
    )
    parser.add_argument("--metadata", type=Path, help="MLMD SQLite file (overrides the above)")
    parser.add_argument(
        "--no-record", action="store_true", help="needs --model; the run is not put in MLMD"
    )
    parser.add_argument(
        "--counts", help="where the counts JSON goes (default <output>-counts.json)"
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
    # MLMD and TFX load here, in the launching process only: Beam's worker processes import this
    # module to unpickle the DoFns, and need neither.
    from babyweight import batch_lineage
    from pipeline import mlmd

    args, beam_args = parse_args(argv)
    source = batch_io.make_source(args.input, args.input_format)
    sink = batch_io.make_sink(args.output, args.output_format)
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
        sqlite = args.metadata or args.pipeline_output / "metadata.sqlite"
        if not sqlite.exists():
            raise SystemExit(f"no metadata store at {sqlite}; pass --metadata or --pipeline-output")
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
            output_format=args.output_format or batch_io.output_format(args.output)[0],
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
    # Run the imported module's main, not __main__'s: Beam pickles the DoFns and the model
    # handler by module name, and worker processes know `babyweight.batch_predict`, not `__main__`.
    from babyweight.batch_predict import main as _main

    sys.exit(_main())
