"""The batch prediction job on Beam: records in, predictions and dead-letter rows out.

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
and fails unless input rows = predictions + dead-letter rows. The command around it is
babyweight/batch/cli.py; the run is recorded in ML Metadata by babyweight/batch/lineage.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from babyweight import features as F
from babyweight.batch import io as batch_io
from babyweight.instances import (
    InvalidInstance,
    parse_instance,
)
from babyweight.serving import model_store

import apache_beam as beam
from apache_beam.ml.inference.base import (
    ModelHandler,
    PredictionResult,
    RunInference,
)
from apache_beam.options.pipeline_options import PipelineOptions

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
    field and reason). `parse` is the source's record parser. The schema's domains come from
    the package (babyweight/schema.pbtxt), so workers need no repository."""

    def __init__(self, parse, key_column: str | None):
        self._parse = parse
        self._key_column = key_column

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
            return key, parse_instance(raw), None
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


def read_and_check(pipeline, source, key_column, min_batch_size, max_batch_size):
    """(batches of records, their check: `.valid` row batches and `[DEAD]` dead-letter rows)."""
    records = source.read(pipeline)
    batches = records | "Batch" >> beam.BatchElements(
        min_batch_size=min_batch_size, max_batch_size=max_batch_size
    )
    checked = batches | "ParseAndValidate" >> beam.ParDo(
        ParseAndValidate(source.parser(), key_column)
    ).with_outputs(DEAD, main="valid")
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
) -> None:
    """The whole job on `pipeline`: read, batch, parse and validate, RunInference, write, count."""
    batches, checked = read_and_check(pipeline, source, key_column, min_batch_size, max_batch_size)
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
    pipeline = beam.Pipeline(options=options)
    build(pipeline, source, sink, model_dir, **kwargs)
    pipeline.run().wait_until_finish()
    return read_counts(kwargs["counts_path"])


def dead_letter_rows(source, *, key_column: str | None = None) -> tuple[int, list[dict]]:
    """The job's read-and-check half on DirectRunner, without a model: (input records, the
    dead-letter rows the job would write). For tests and dry runs of an input."""
    import tempfile

    from apache_beam.io.filesystems import FileSystems

    with tempfile.TemporaryDirectory(prefix="batch_check") as work:
        pipeline = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
        batches, checked = read_and_check(
            pipeline, source, key_column, MIN_BATCH_SIZE, MAX_BATCH_SIZE
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
