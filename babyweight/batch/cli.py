"""`babyweight batch-predict`: predict birth weights for files or a BigQuery table with Beam.

    babyweight batch-predict --input rows.csv --predictions preds/part   # newest blessed model
    babyweight batch-predict --model outputs/serving_model/babyweight/123 --input 'in/*.jsonl' \\
        --predictions preds.jsonl --key-column id --direct_running_mode=multi_processing \\
        --direct_num_workers=2
    babyweight batch-predict --input bq://proj.ds.births --predictions bq://proj.ds.preds \\
        --key-column id --runner DataflowRunner --project proj --region us-central1 \\
        --temp_location gs://b/tmp

`--output` is the pipeline run's output directory: without --model the newest blessed, pushed
model is found in its ML Metadata store (opened read-only), and the batch run is recorded there
(opened read-write only for that), linked to the model, unless --no-record. Other flags go to
Beam as pipeline options. The job itself is babyweight/batch/predict.py.

Everything the command can check before the job starts is checked first, and a problem is one
line naming the flag and the value: the input's format, a glob that matches nothing, a missing
column, a BigQuery table name, Google Cloud credentials for bq:// (at once, without a prompt),
a --predictions directory that cannot be written or made, shards of an earlier run under
--predictions, the model, an unreadable metadata store.

Predictions are written in a hidden `.staging` directory beside the prefix and moved into place
when the job has finished; the counts file is written last, as the commit marker (outputs
without it are not whole). What a killed run left there is removed by the next run.
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
from babyweight.errors import JobFailed, UsageError
from babyweight.layout import OutputLayout, add_output_argument

from apache_beam.options.pipeline_options import PipelineOptions

AUTHENTICATE = (
    "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
    "service-account key file"
)


def resolve_model(store, model_dir: str | None):
    """--model, traced to its pipeline artifacts; without it, the newest blessed pushed model."""
    from babyweight.metadata import pushed

    if model_dir is None:
        record = pushed.newest_blessed_model(store)
        if record is None:
            raise UsageError("no blessed, pushed model in the metadata store; pass --model")
        return record
    record = pushed.find_model(store, model_dir)
    if record is None:
        raise UsageError(
            f"--model {model_dir}: no Pusher in the metadata store pushed it; pass the output "
            "directory of the pipeline that made it (--output) or --no-record"
        )
    return record


def build_parser() -> argparse.ArgumentParser:
    """The command's own flags; the others are Beam's (parse_known_args)."""
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
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace what an earlier run wrote under --predictions (its shards, dead-letter "
        "shards and counts; a BigQuery table is truncated); without it such files stop the run",
    )
    parser.add_argument("--key-column", help="column carried to every output row, for joins")
    parser.add_argument("--runner", default="DirectRunner")
    add_output_argument(
        parser,
        "the pipeline run's output directory: its ML Metadata store finds the model and "
        "records this run (default: outputs/)",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="do not record the run in ML Metadata"
    )
    parser.add_argument(
        "--mapping",
        type=Path,
        help="TOML file mapping the input's own columns, units and codes to the features "
        "(as local_runner.py --mapping; see `babyweight inspect`)",
    )
    add_output_flags(parser)
    return parser


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """Where the counts go, and the batch sizes of record inputs."""
    parser.add_argument(
        "--counts", help="where the counts JSON goes (default <predictions>-counts.json)"
    )
    parser.add_argument(
        "--min-batch-size",
        type=int,
        default=MIN_BATCH_SIZE,
        help="fewest records per Beam batch of JSONL, TFRecord and BigQuery input",
    )
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=MAX_BATCH_SIZE,
        help="most records per Beam batch of those inputs, one model call each (a CSV range of "
        "about 1 MiB is one batch and one call)",
    )


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


def google_credentials_problem() -> str | None:
    """Why no Google Cloud credentials can be had, found without waiting on the network (and
    so never falling through to an interactive sign-in); None when there are some."""
    import google.auth
    from google.auth import _cloud_sdk, environment_vars
    from google.auth.compute_engine import _metadata
    from google.auth.exceptions import DefaultCredentialsError

    has_source = (
        os.environ.get(environment_vars.CREDENTIALS)
        or os.path.isfile(_cloud_sdk.get_application_default_credentials_path())
        or os.environ.get(environment_vars.GCE_METADATA_HOST)
        or _metadata.detect_gce_residency_linux()  # a Google Cloud VM: the metadata server
    )
    if not has_source:
        return "no Google Cloud credentials found"
    try:
        google.auth.default()
    except DefaultCredentialsError as e:
        return f"no usable Google Cloud credentials ({str(e).splitlines()[0][:200]})"
    return None


def check_bigquery_access(args) -> None:
    specs = [(flag, spec) for flag, spec in (("--input", args.input), ("--predictions",
             args.predictions)) if batch_io.is_bigquery(spec)]  # fmt: skip
    if not specs:
        return
    problem = google_credentials_problem()
    if problem:
        flag, spec = specs[0]
        raise UsageError(f"{flag} {spec}: {problem}; {AUTHENTICATE}")


def load_mapping(path: Path):
    """--mapping read and printed (babyweight/mapping.py); MappingError is one line."""
    from babyweight import mapping as M

    mapping = M.load(path)
    print(f"reading --input by mapping {path}: {M.summary(mapping)}")
    return mapping


def check_columns(source, args) -> None:
    columns = source.columns()  # or CsvInputError, a UsageError naming the file
    if columns is None:
        return
    mapping = getattr(args, "mapping_read", None)
    if mapping is not None:
        features = [mapping.fields[f].column for f in F.FEATURE_KEYS]
        columns = [str(c).lower() for c in columns]
    else:
        features = list(F.FEATURE_KEYS)
    wanted = [*features, *([args.key_column] if args.key_column else [])]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise UsageError(f"--input {args.input}: no column {', '.join(missing)} in {columns}")


def clear_earlier_outputs(sink, counts_path: str, overwrite: bool) -> None:
    """Shards of an earlier run under the prefix stop the run, or go with --overwrite (only
    this prefix's shards and counts file; nothing else in the directory)."""
    if not isinstance(sink, batch_io.FileSink):
        return
    found = sink.earlier_outputs(counts_path)
    if not found:
        return
    if not overwrite:
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        raise UsageError(
            f"--predictions {sink.prefix}: an earlier run's outputs are there ({shown}); "
            "pass --overwrite to replace them, or choose another prefix"
        )
    from apache_beam.io.filesystems import FileSystems

    FileSystems.delete(found)
    print(f"removed {len(found)} files of an earlier run under {sink.prefix}")


def prepare_predictions(sink) -> None:
    """A file sink's directory made and writable, and what a killed run on the prefix left
    removed, before the job (batch_io.FileSink.prepare); UsageError naming the directory."""
    if not isinstance(sink, batch_io.FileSink):
        return
    directory = os.path.dirname(sink.prefix) or "."
    try:
        removed = sink.prepare()
    except OSError as e:
        why = e.strerror or str(e).splitlines()[0][:200]
        where = (
            f"cannot write in {directory}"
            if os.path.isdir(directory) or "://" in directory
            else f"cannot create the directory {directory}"
        )
        raise UsageError(f"--predictions {sink.prefix}: {where} ({why})") from None
    if removed:
        print(f"removed what an earlier run that did not finish left: {', '.join(removed)}")


class PipelineStore:
    """The run's ML Metadata store: read-only to find the model, read-write only to record."""

    def __init__(self, output: Path, metadata: str | None = None):
        self.path = OutputLayout(output, metadata).require_metadata()  # or MissingStoreError

    def use(self, action, *, readonly: bool):
        """action(store) on a fresh connection; an unreadable store is a StoreError, one line
        naming the file (metadata/store.py), printed by the `babyweight` command."""
        from babyweight.metadata import store as mlmd

        return action(mlmd.open_store(self.path, readonly=readonly))


def open_input_and_output(args):
    """(source, sink) of --input and --predictions, checked before the job starts: the format,
    the files, the columns (by --mapping's names when given), BigQuery credentials; and
    --model's SavedModel."""
    args.mapping_read = load_mapping(args.mapping) if getattr(args, "mapping", None) else None
    try:
        source = batch_io.make_source(args.input, args.input_format)
    except ValueError as e:
        raise UsageError(f"--input {e}") from None
    try:
        sink = batch_io.make_sink(args.predictions, args.output_format, overwrite=args.overwrite)
    except ValueError as e:
        raise UsageError(f"--predictions {e}") from None
    prepare_predictions(sink)
    check_bigquery_access(args)
    check_columns(source, args)
    if args.model and not (Path(args.model) / "saved_model.pb").exists():
        raise UsageError(f"--model {args.model}: no saved_model.pb there")
    return source, sink


def find_model(args) -> tuple[PipelineStore | None, object, str]:
    """(the store, or None with --model --no-record; the model's record; its directory)."""
    if args.model and args.no_record:
        return None, None, args.model
    store = PipelineStore(args.output, args.metadata)
    record = store.use(lambda s: resolve_model(s, args.model), readonly=True)
    return store, record, record.model_dir


class Recording:
    """The batch run in ML Metadata: started before the job, finished after it (or failed)."""

    def __init__(self, store: PipelineStore, record, source, args):
        from babyweight.batch import lineage as batch_lineage

        self.store, self.lineage = store, batch_lineage
        self.execution, self.contexts = store.use(
            lambda s: batch_lineage.start_run(
                s,
                record,
                _uri(source.uri),
                batch_io.input_format(args.input, args.input_format),
                runner=args.runner,
                key_column=args.key_column,
            ),
            readonly=False,
        )

    def finish(self, **outcome) -> None:
        self.execution = self.store.use(
            lambda s: self.lineage.finish_run(s, self.execution, self.contexts, **outcome),
            readonly=False,
        )


def run_and_record(args, source, sink, model_dir, options, counts_path, recording):
    """The Beam job; a job that fails leaves no temp dirs, and its run is recorded FAILED."""
    try:
        return run_job(
            source,
            sink,
            model_dir,
            options,
            key_column=args.key_column,
            counts_path=counts_path,
            min_batch_size=args.min_batch_size,
            max_batch_size=args.max_batch_size,
            mapping=args.mapping_read,
        )
    except BaseException as e:  # run_job removed the files it staged
        if recording:
            recording.finish(output_uri=None, error=f"{type(e).__name__}: {e}")
        raise


def main(argv=None) -> int:
    args, beam_args = build_parser().parse_known_args(argv)
    source, sink = open_input_and_output(args)
    store, record, model_dir = find_model(args)
    options = PipelineOptions(["--runner", args.runner, *beam_args])
    counts_path = args.counts or default_counts_path(sink, options)
    clear_earlier_outputs(sink, counts_path, args.overwrite)
    print(f"model: {model_dir}")
    # ML Metadata loads here, in the launching process only (workers import the job module).
    recording = (
        Recording(store, record, source, args) if store is not None and not args.no_record else None
    )
    counts = run_and_record(args, source, sink, model_dir, options, counts_path, recording)
    balanced = counts["input_rows"] == counts["predictions"] + counts["dead_letter_rows"]
    if recording:
        recording.finish(
            output_uri=_uri(sink.uri),
            output_format=args.output_format or batch_io.output_format(args.predictions)[0],
            counts={**counts, "dead_letter_uri": _uri(sink.dead_letter_uri)},
            error=None if balanced else "counts do not add up",
        )
    print(f"input rows:       {counts['input_rows']}")
    print(f"predictions:      {counts['predictions']}  -> {sink.uri}")
    print(f"dead-letter rows: {counts['dead_letter_rows']}  -> {sink.dead_letter_uri}")
    if recording:
        kind = recording.lineage.EXECUTION_TYPE
        print(f"recorded in MLMD: execution {recording.execution.id} ({kind})")
    if not balanced:
        raise JobFailed(
            f"input rows ({counts['input_rows']}) != predictions ({counts['predictions']}) + "
            f"dead-letter rows ({counts['dead_letter_rows']})"
        )
    return 0


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("batch-predict", sys.argv[1:]))
