"""The batch prediction job on Beam: records in, predictions and dead-letter rows out.

Beam moves one element per batch of rows, never per row (babyweight/batch/batches.py):

    source.read  -> RecordBatch      CSV: byte ranges read by pyarrow into string columns;
                                     JSONL, TFRecord, BigQuery: records batched, then parsed
    Check        -> InstanceBatch    the valid rows, read column by column with the rules of
                    + dead-letter    babyweight.instances (each rule once per distinct value);
                                     every other record with its field and reason
    RunInference -> PredictionBatch  Beam's RunInference with a small model handler of ours: it
                                     loads the pushed SavedModel once per worker process and
                                     calls `serving_default` once per batch, on its columns
    sink.write                       CSV as one block of text per batch; JSONL, BigQuery by row

Beam's TFModelHandlerTensor does not fit: it loads with Keras and calls the model on one stacked
tensor, while this model takes four named raw tensors through the Transform graph (and its
module imports tensorflow_hub, which needs pkg_resources, absent from this environment).

The three counts (input records, predictions, dead-letter rows) are computed inside the
pipeline as data and written to `<output>-counts.json`, not taken from runner metrics; the
command prints them and fails unless input records = predictions + dead-letter rows. Files are
written in a hidden staging directory and moved into place at the end, the counts file last: it
is the commit marker (batch_io.FileSink). The command
around it is babyweight/batch/cli.py; the run is recorded in ML Metadata by
babyweight/batch/lineage.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

from babyweight import features as F
from babyweight import model_store, process_exit
from babyweight.batch import batches as B
from babyweight.batch import io as batch_io

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, RunInference
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

DEAD = "dead_letter"
MIN_BATCH_SIZE = 64  # for sources batched by Beam (JSONL, TFRecord, BigQuery)
MAX_BATCH_SIZE = 2048  # rows per Beam batch of those sources (and so per model call)
ROW_BYTES = 64  # about the size of one row, for RunInference's byte metrics


class RawSignatureModelHandler(ModelHandler[B.InstanceBatch, B.PredictionBatch, object]):
    """Loads a pushed SavedModel (once per worker process; RunInference shares it between
    threads) and runs its serving_default signature once per InstanceBatch, on its columns.

    Elements are batches already, so RunInference's own batching is skipped. A CSV range is one
    batch (about 20,000 rows, at most csv_reader.ELEMENT_ROWS); records of other sources are
    batched by Beam up to --max-batch-size. One call per batch: cut into calls of 2,048 rows,
    the same rows took 1.05 s per million instead of 0.58 s, the difference being TensorFlow's
    cost per call (numpy to tensors, the signature's argument checks)."""

    def __init__(self, model_dir: str, tf_threads: int | None = None):
        super().__init__()
        self._model_dir = model_dir
        self._tf_threads = tf_threads

    def load_model(self) -> model_store.LoadedModel:
        process_exit.skip_teardown_in_beam_worker()  # TF loads here: its teardown is slow
        if self._tf_threads:
            limit_tf_threads(self._tf_threads)
        return model_store.load(self._model_dir)

    def run_inference(self, batch: B.InstanceBatch, model, inference_args=None):
        predictions = model.signature(**batch.inputs)[F.PREDICTION_KEY]
        return [B.PredictionBatch(batch, predictions.numpy())]

    def should_skip_batching(self) -> bool:
        return True

    def get_num_bytes(self, batch: B.InstanceBatch) -> int:
        # For RunInference's metrics only; the default pickles every batch to measure it.
        return len(batch) * ROW_BYTES

    def get_metrics_namespace(self) -> str:
        return "babyweight_batch_predict"


def worker_tf_threads(options: PipelineOptions) -> int | None:
    """TensorFlow threads for each worker process of DirectRunner's multi_processing mode: this
    machine's cores shared out among its workers. None (TF's default, every core) otherwise.

    Each worker's TF would otherwise size its thread pools to every core, N workers' pools on
    the same cores. On 2 cores with 2 workers, timed per range inside the workers, a range of
    20,000 rows took 31 ms with TF's default threads and 25 ms with one thread each: the model
    call went from 15 to 13 ms, and the Python steps beside it from 15 to 12 ms (idle TF threads
    spin before they sleep, on the core the other worker needs)."""
    runner = str(options.view_as(StandardOptions).runner or "DirectRunner")
    direct = options.view_as(DirectOptions)
    is_direct = runner.lower().removesuffix("runner") == "direct"  # DirectRunner, direct
    if not is_direct or direct.direct_running_mode != "multi_processing":
        return None
    cores = os.cpu_count() or 1
    return max(1, cores // (direct.direct_num_workers or cores))


def limit_tf_threads(threads: int) -> None:
    """TF's intra-op and inter-op pools at `threads` each, if TF has not started yet in this
    process (a worker process loads TF here first); otherwise TF keeps the threads it has."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as e:  # the context exists already: its pools cannot change
        logging.getLogger(__name__).info("TF threads left as they are: %s", e)


class Check(beam.DoFn):
    """RecordBatch -> its InstanceBatch (main output) and its dead-letter rows (DEAD), by
    batches.check. The domains come from the table of features (babyweight/features.py), in
    the package, so workers need no repository."""

    def __init__(self, key_column: str | None):
        self._key_column = key_column

    def process(self, batch: B.RecordBatch):
        valid, dead = B.check(batch, self._key_column)
        if valid is not None:
            yield valid
        if dead:
            yield beam.pvalue.TaggedOutput(DEAD, dead)


def failed_batch_rows(failed, key_column: str | None) -> list[dict]:
    """Rows of a batch the model raised on (RunInference's dead-letter output)."""
    batch, (error_type, error_repr, _) = failed
    reason = f"model: {error_type.__name__}: {error_repr[:300]}"
    return [
        B.dead_row(key_column, row.pop(key_column, None) if key_column else None, "model", None,
                   reason, row)
        for row in batch.rows()
    ]  # fmt: skip


def mapped_batch(batch, mapping):
    """A RecordBatch whose columns are read by a user's mapping (--mapping)."""
    from babyweight.mapped_values import map_columns

    return dataclasses.replace(batch, columns=map_columns(mapping, batch.columns, batch.rows))


def read_and_check(pipeline, source, key_column, min_batch_size, max_batch_size, mapping=None):
    """(RecordBatches, their check: `.valid` InstanceBatches and `[DEAD]` dead-letter rows)."""
    batches = source.read(pipeline, min_batch_size=min_batch_size, max_batch_size=max_batch_size)
    if mapping is not None:
        batches = batches | "Mapping" >> beam.Map(mapped_batch, mapping)
    checked = batches | "Check" >> beam.ParDo(Check(key_column)).with_outputs(DEAD, main="valid")
    return batches, checked


def build(
    pipeline,
    source,
    sink,
    model_dir: str,
    *,
    key_column: str | None = None,
    counts_path: str,
    min_batch_size: int = MIN_BATCH_SIZE,
    max_batch_size: int = MAX_BATCH_SIZE,
    mapping=None,
) -> None:
    """The whole job on `pipeline`: read, check, RunInference, write, count. Each worker's
    TensorFlow threads follow from the pipeline's options (worker_tf_threads)."""
    tf_threads = worker_tf_threads(pipeline.options)
    batches, checked = read_and_check(
        pipeline, source, key_column, min_batch_size, max_batch_size, mapping
    )
    predicted, failed = (
        checked.valid
        | "RunInference"
        >> RunInference(RawSignatureModelHandler(model_dir, tf_threads)).with_exception_handling()
    )
    model_dead = failed.failed_inferences | "FailedBatchRows" >> beam.Map(
        failed_batch_rows, key_column
    )
    dead = (checked[DEAD], model_dead) | "AllDeadLetter" >> beam.Flatten()

    sink.write(predicted, batch_io.prediction_columns(key_column), label="Predictions")
    sink.write(dead, batch_io.dead_letter_columns(key_column), dead_letter=True, label="Dead")

    # The counts, as data: the records read, the rows handed to each output.
    def count(pcoll, label):
        sizes = pcoll | f"Size{label}" >> beam.Map(len)
        return beam.pvalue.AsSingleton(sizes | f"Count{label}" >> beam.CombineGlobally(sum))

    counts = {
        "input_rows": count(batches, "Input"),
        "predictions": count(predicted, "Predictions"),
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
    """Runs the job to the end and returns the three counts. Files are written in the sink's
    staging directory and moved into place when the job has finished, the counts file last
    (batch_io.FileSink.commit); a job that fails leaves none of them."""
    counts_path = kwargs.pop("counts_path")
    files = isinstance(sink, batch_io.FileSink)
    staged_counts = sink.staged(counts_path) if files else counts_path
    pipeline = beam.Pipeline(options=options)
    build(pipeline, source, sink, model_dir, counts_path=staged_counts, **kwargs)
    try:
        pipeline.run().wait_until_finish()
        counts = read_counts(staged_counts)
        if files:
            sink.commit(staged_counts, counts_path)
    except BaseException:
        if files:
            sink.discard()
        raise
    return counts


def dead_letter_rows(
    source, *, key_column: str | None = None, mapping=None
) -> tuple[int, list[dict]]:
    """The job's read-and-check half on DirectRunner, without a model: (input records, the
    dead-letter rows the job would write). For tests and dry runs of an input."""
    import tempfile

    from apache_beam.io.filesystems import FileSystems

    with tempfile.TemporaryDirectory(prefix="batch_check") as work:
        pipeline = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
        batches, checked = read_and_check(
            pipeline, source, key_column, MIN_BATCH_SIZE, MAX_BATCH_SIZE, mapping
        )
        _ = (
            batches
            | "Sizes" >> beam.Map(len)
            | "Total" >> beam.CombineGlobally(sum)
            | "WriteTotal" >> beam.io.WriteToText(f"{work}/total", shard_name_template="")
        )
        _ = (
            checked[DEAD]
            | "Rows" >> beam.FlatMap(lambda rows: rows)
            | "Json" >> beam.Map(json.dumps, sort_keys=True)
            | "WriteDead" >> beam.io.WriteToText(f"{work}/dead", shard_name_template="")
        )
        pipeline.run().wait_until_finish()
        with FileSystems.open(f"{work}/total") as f:
            total = int(f.read().decode() or 0)
        with FileSystems.open(f"{work}/dead") as f:
            dead = [json.loads(line) for line in f.read().decode("utf-8").splitlines()]
    return total, dead
