"""One run of the pipeline on this machine: check the input, stage it, run the DAG with TFX's
LocalDagRunner (Beam DirectRunner, MLMD in SQLite), write the summary and the report.

Everything goes under --output (babyweight/layout.py names every path): the pipeline root,
metadata.sqlite, the staged data, serving_model/babyweight/<version>/, run_summary.json, the
report and logs/run-<id>.log. The terminal shows the progress lines and the summary; the full
TensorFlow/Beam/TFX log goes to the run's log file (--verbose streams it too). One run per
--output at a time (a lock file). The exit status says how the run ended (babyweight/errors.py
ExitCode, docs "Exit codes"). babyweight/local/cli.py parses the flags and calls `main`.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import signal
import sys
import time
from pathlib import Path

from babyweight import console as console_lib
from babyweight import mapping as M
from babyweight import run_lock
from babyweight.errors import BabyweightError, ExitCode
from babyweight.layout import OutputLayout
from babyweight.local import spans, splits, staging
from babyweight.local.input_formats import InputFormatError
from babyweight.metadata import progress, report, summary
from babyweight.metadata import store as mlmd
from babyweight.metadata.summary import RunSummary

from pipeline import configs

PROG = "local_runner"
INTERRUPTED = "interrupted; rerun the same command to resume from the cache"


class UserError(BabyweightError):
    """A mistake the person can fix, or data the run cannot use: one line and its exit code."""


def settings_from_args(args, layout: OutputLayout, span: int | None = None):
    """The run's PipelineSettings from the parsed flags (one per setting of pipeline/configs.py);
    UserError naming a wrong setting (nothing is written)."""
    beam_args = list(configs.LOCAL_BEAM_ARGS)
    if args.data_source == "bigquery":
        beam_args += [f"--project={args.project}", f"--temp_location={args.temp_location}"]
    given = {s.name: getattr(args, s.name) for s in configs.settings_of(configs.LOCAL)}
    values = {name: value for name, value in given.items() if name in configs.PIPELINE_FIELDS}
    values.update(
        pipeline_root=str(layout.pipeline_root),
        serving_model_dir=str(layout.serving_model_dir),
        data_root=str(layout.staged_examples) if args.data_source == "csv" else None,
        span=span,
        beam_pipeline_args=tuple(beam_args),
    )
    try:
        return configs.PipelineSettings(**values)
    except ValueError as e:
        raise UserError(str(e)) from None


@dataclasses.dataclass(frozen=True)
class RunInput:
    """The CSV input of one run: the file or directory it stages, and its span."""

    data: Path  # --data as given
    files: Path  # what is staged: --data itself, or its span's directory
    span: int  # 0 for a --data without spans
    has_spans: bool
    mapping: M.Mapping | None = None  # --mapping, read and checked against the headers


def input_span(args) -> RunInput:
    """--data itself (span 0), or its span directory: --span N, or the latest complete span
    when --data holds span-N/ directories."""
    try:
        found = spans.find_spans(args.data)
        if not found:
            if args.span is not None:
                raise UserError(
                    f"--span {args.span}: --data {args.data} has no span directories "
                    f"({configs.SPAN_PATTERN.replace('{SPAN}', 'N')}/)"
                )
            return RunInput(args.data, args.data, 0, False)
        chosen = spans.choose_span(found, args.data, args.span)
    except spans.SpanError as e:
        raise UserError(str(e)) from None
    return RunInput(args.data, chosen.path, chosen.number, True)


def check_input(args) -> RunInput | None:
    """The cheap checks, before anything is written: --data exists, its span, BigQuery's flags.
    Returns the CSV input of the run (None for BigQuery)."""
    if args.data_source == "bigquery":
        if not args.project or not args.temp_location:
            raise UserError("--source bigquery needs --gcp-project and --temp-location")
        return None
    source = input_span(args)
    try:
        mapping = M.load(args.mapping) if getattr(args, "mapping", None) else None
        staging.check_headers(source.files, mapping)
    except (staging.StagingError, InputFormatError, M.MappingError) as e:
        raise UserError(str(e)) from None
    return dataclasses.replace(source, mapping=mapping)


def check_store(args) -> None:
    """--metadata: a mysql:// URL is parsed and its server opened before anything is written
    (a server that is down, wrong credentials, a newer schema: one line, exit 2); a path is
    checked when MLMD opens it."""
    name = OutputLayout(args.output, args.metadata).store()
    try:
        if mlmd.connection.parse(name).is_mysql:
            mlmd.open_store(name).get_artifact_types()
    except BabyweightError as e:
        raise UserError(str(e), ExitCode.USAGE) from None


def prepare_output(path: Path, metadata: str | None = None) -> OutputLayout:
    """The output directory, created; UserError naming it when it cannot be used."""
    if path.exists() and not path.is_dir():
        raise UserError(f"--output {path}: is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--output {path}: cannot create it ({e.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"--output {path}: not writable")
    return OutputLayout(path, metadata)


def new_run_id() -> str:
    """A run id as LocalDagRunner spells one (ISO time, microseconds): this run's MLMD context."""
    return datetime.datetime.now().isoformat()


def stage(source: RunInput, layout: OutputLayout, out) -> staging.StageReport:
    """Stage the run's span of CSV input and check that every split can be filled; print what
    was read."""
    if source.has_spans:
        print(f"span {source.span}: {source.files}", file=out)
    try:
        stage_report = staging.stage_csv(
            source.files, layout, span=source.span, mapping=source.mapping
        )
    except staging.NoUsableRows as e:
        raise UserError(str(e), ExitCode.UNUSABLE_DATA) from None
    except (staging.StagingError, InputFormatError, M.MappingError) as e:
        raise UserError(str(e)) from None
    for line in staging.describe(stage_report, source.files):
        print(line, file=out)
    problem = splits.unusable_split(
        stage_report.split_counts, configs.EVAL_SPLIT, configs.MIN_TEST_ROWS
    )
    if problem:
        raise UserError(f"stopped before training: {problem}", ExitCode.UNUSABLE_DATA)
    return stage_report


def run_pipeline(settings, layout, run_id: str, out, started_at: float, steps) -> Exception | None:
    """LocalDagRunner under our run id; the pipeline's error, or None."""
    from tfx.dsl.compiler import constants
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.portable import runtime_parameter_utils

    from pipeline.gate import DataAnomaliesError
    from pipeline.pipeline import create_pipeline

    class RunWithId(LocalDagRunner):
        def run_with_ir(self, pipeline, run_options=None, **kwargs):
            runtime_parameter_utils.substitute_runtime_parameter(
                pipeline, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id}
            )
            return super().run_with_ir(pipeline, run_options, **kwargs)

    connection = mlmd.connection.connection_config(layout.store())
    try:
        watch = progress.Progress(layout.store(), stream=out, run_id=run_id, started_at=started_at)
        steps.progress = watch
        dag = create_pipeline(settings, connection)
        watch.order = [c.id for c in dag.components]  # topological: the order they run in
        with watch:
            RunWithId().run(dag)
    except DataAnomaliesError as e:
        return e  # the summary lists the anomalies
    except Exception as e:  # noqa: BLE001  (reported in one line, the traceback in the log)
        logging.exception("the pipeline failed")
        return e
    return None


def cancel_running(layout: OutputLayout, run_id: str) -> None:
    """Record what this run was doing when interrupted as CANCELED, not RUNNING forever."""
    if not layout.has_store():
        return
    store = mlmd.open_store(layout.store())
    context = store.get_context_by_type_and_name("pipeline_run", run_id)
    if context is None:
        return
    running = [
        e
        for e in store.get_executions_by_context(context.id)
        if mlmd.STATE_NAMES.get(e.last_known_state) in progress.WAITING_STATES
    ]
    for e in running:
        e.last_known_state = e.State.CANCELED
    if running:
        store.put_executions(running)


def interrupt_handler(layout: OutputLayout, run_id: str, console):
    """Ctrl-C: record what was running as CANCELED, say one line, and exit at once.

    It exits from the signal handler rather than raising KeyboardInterrupt: TensorFlow and Beam
    catch that in their worker threads and finish what they were doing first (half a minute in
    the Trainer). What finished is committed in ML Metadata, so a rerun resumes from the cache.
    """

    def handle(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        try:
            cancel_running(layout, run_id)
            summary.interrupted(layout, run_id, str(console.log_path)).write_json(
                layout.run_summary
            )
            logging.warning("interrupted by the user")
        except Exception:  # noqa: BLE001  (the one line and the exit status matter more)
            logging.exception("recording the interruption failed")
        print(INTERRUPTED, file=console.err)
        for stream in (sys.stdout, sys.stderr, console.out, console.err):
            stream.flush()
        os._exit(int(ExitCode.INTERRUPTED))  # the kernel releases the run lock

    return handle


def failure_line(result: RunSummary, log_path: Path) -> str | None:
    """One line for a run that did not bless a model; None when the summary says it all."""
    said = (ExitCode.BLESSED, ExitCode.NOT_BLESSED, ExitCode.DATA_ANOMALIES, ExitCode.DRIFT)
    if result.exit_code in said:
        return None
    failed = [node for node, state in result.components.items() if state == "FAILED"]
    where = f" in {failed[0]}" if failed else ""
    what = (result.error or "it ended without evaluating the model").strip().splitlines()[0]
    return f"{PROG}: the pipeline failed{where}: {what} (the traceback is in {log_path})"


def record_span_run(layout: OutputLayout, source: RunInput | None, result: RunSummary) -> None:
    """One line in span_runs.jsonl for a run of a CSV span that reached an outcome."""
    if source is not None:
        spans.record_run(layout.span_runs, spans.run_entry(result.to_dict(), source.data))


def finish(
    layout: OutputLayout, result: RunSummary, console, source: RunInput | None, report_too=True
) -> int:
    result.log_file = str(console.log_path)
    result.metadata_store = mlmd.display_name(layout.store())
    result.write_json(layout.run_summary)
    record_span_run(layout, source, result)
    print(summary.format_text(result), file=console.out)
    print(f"summary written to {layout.run_summary}", file=console.out)
    print(f"full log: {console.log_path}", file=console.out)
    if result.components and report_too:  # the report reads ML Metadata
        try:
            print(f"report written to {report.write_report(layout, result)}", file=console.out)
        except Exception:  # noqa: BLE001  (a report that fails must not hide the run's result)
            logging.exception("writing the HTML report failed")
            print(f"{PROG}: writing the report failed (see the log)", file=console.err)
    line = failure_line(result, console.log_path)
    if line:
        print(line, file=console.err)
    return int(result.exit_code)


def store_lost(run_id: str, lost: BabyweightError, error, watch) -> RunSummary:
    """The summary of a run whose ML Metadata store stopped answering (a server gone away):
    what the progress lines saw, the component that was running FAILED, and the store's one
    line as the error (TFX's says only "mysql_real_connect failed")."""
    logging.error("the run's ML Metadata cannot be read: %s (the pipeline: %s)", lost, error)
    result = RunSummary(
        run_id=run_id, outcome=summary.OUTCOMES[ExitCode.FAILED], exit_code=int(ExitCode.FAILED)
    )
    states, order = (dict(watch.states), watch.order) if watch else ({}, [])
    result.components = {n: s for n, s in states.items() if s in mlmd.FINISHED_STATES}
    # The one running: LocalDagRunner's, else the first not seen finished (one runs at a time).
    running = [failed_node(error)] + [n for n in [*order, *states] if n not in result.components]
    running = [n for n in running if n]
    if running:
        result.components[running[0]] = "FAILED"
    result.run_state = "FAILED"
    result.error = f"{lost}; rerun once it is back: what finished comes from the cache"
    result.blessing_reason = "not evaluated: the ML Metadata store stopped answering"
    return result


def failed_node(error: BaseException | None) -> str | None:
    """The node LocalDagRunner was running when `error` came out of it: the `node_id` of its
    loop over the nodes (tfx/orchestration/local/local_dag_runner.py run_with_ir, TFX 1.16)."""
    found, tb = None, error.__traceback__ if error else None
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "run_with_ir":
            found = tb.tb_frame.f_locals.get("node_id", found)
        tb = tb.tb_next
    return found


def stopped_early(run_id: str, code: ExitCode, error: str, layout: OutputLayout) -> RunSummary:
    """The summary of a run that stopped before the pipeline started."""
    result = RunSummary(run_id=run_id, outcome=summary.OUTCOMES[code], exit_code=int(code))
    result.error = error
    result.blessing_reason = "not evaluated: the run stopped before training"
    summary.add_staging(result, summary.staging_report(layout.stage_report))
    return result


def run(args, settings, layout: OutputLayout, run_id: str, source: RunInput | None) -> int:
    """One run, its output captured in its log file; the exit status."""
    console = console_lib.capture_run_log(
        layout.run_log(run_id), verbose=args.verbose, quiet=args.quiet
    )
    mlmd.connection.mask_passwords_in_logs()  # TFX logs the ConnectionConfig
    signal.signal(signal.SIGINT, interrupt_handler(layout, run_id, console))
    started_at = time.time()
    steps = progress.show_training_steps(console.out, started_at)
    try:
        print(f"run {run_id}; full log in {console.log_path}", file=console.out)
        print(f"ML Metadata: {mlmd.display_name(layout.store())}", file=console.out)
        if source is not None:
            try:
                stage(source, layout, console.out)
            except UserError as e:
                if e.code == ExitCode.USAGE:
                    raise
                result = stopped_early(run_id, e.code, str(e), layout)
                result.span = source.span
                result.log_file = str(console.log_path)
                result.write_json(layout.run_summary)
                record_span_run(layout, source, result)
                print(f"{PROG}: {e}", file=console.err)
                return int(e.code)
        else:
            layout.stage_report.unlink(missing_ok=True)  # nothing staged: no earlier counts
        error = run_pipeline(settings, layout, run_id, console.out, started_at, steps)
        if not layout.has_store():  # TFX failed before it recorded anything
            failed = error or RuntimeError("the pipeline recorded nothing")
            result = stopped_early(run_id, ExitCode.FAILED, str(failed), layout)
            return finish(layout, result, console, source)
        try:
            result = summary.collect(layout, run_id, error=error)
        except BabyweightError as e:  # the store stopped answering during the run
            lost = store_lost(run_id, e, error, steps.progress)
            return finish(layout, lost, console, source, report_too=False)
        return finish(layout, result, console, source)
    except UserError as e:
        print(f"{PROG}: {e}", file=console.err)
        return int(e.code)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        logging.getLogger(progress.STEPS_LOGGER).removeHandler(steps)
        console.close()


def main(args) -> int:
    """One run with the parsed flags: the cheap checks, the lock, then the run; its exit status."""
    try:
        source = check_input(args)
        span = source.span if source else None
        check_store(args)
        settings = settings_from_args(args, OutputLayout(args.output.resolve()), span)
        layout = prepare_output(args.output.resolve(), args.metadata)
        run_id = args.run_id or new_run_id()
        run_lock.acquire(layout.run_lock, run_id)
    except (UserError, run_lock.OutputLocked) as e:  # OutputLocked's code is ExitCode.LOCKED
        print(f"{PROG}: {e}", file=sys.stderr)
        return int(e.code)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    try:
        return run(args, settings, layout, run_id, source)
    finally:
        run_lock.release(layout.run_lock)
