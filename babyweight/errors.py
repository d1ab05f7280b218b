"""One error base and one table of exit codes for every command (`local_runner.py`,
`kubeflow_runner.py` and each `babyweight COMMAND`).

A command raises a `BabyweightError` (or a subclass named for its cause) with one line that names
the file, field or value and why. `babyweight/cli.py` (`call`) is the one place that turns it into
`babyweight COMMAND: MESSAGE` on stderr and the error's `code`, without a traceback; the pipeline
runner does the same with `local_runner: MESSAGE`. argparse's own usage errors (an unknown flag,
a missing argument) keep argparse's usage text and exit 2. The codes are documented in
docs/running.md ("Exit codes").

The tools (`babyweight COMMAND`), one code per cause whatever the command:

| cause                                                                 | code | raised as         |
|-----------------------------------------------------------------------|------|-------------------|
| done; skew: no skew found                                             | 0    | -                 |
| the job ran and did not do its job: batch-predict's counts do not     | 1    | JobFailed         |
| add up; the labels moved but ML Metadata could not record the step    | 1    | JobFailed         |
| a KFP endpoint that refused, failed or did not answer                 | 1    | CliError          |
| a task of a KFP spec run here failed (its log's last lines follow)    | 1    | TaskFailed        |
| rollout: nothing to promote or roll back, a canary gone from disk     | 1    | RolloutError      |
| skew found (kfp status: the run failed): a verdict, returned          | 1    | -                 |
| an unexpected error (a bug): one line, `--verbose` adds the traceback | 1    | any other         |
| a wrong flag value; a path, file or directory that does not exist,    | 2    | UsageError        |
| or cannot be read or written                                          |      |                   |
| an input file that is not what its flag asks for: a CSV without a     | 2    | CsvInputError     |
| header, a serving log line that is not JSON, a file that is no KFP    | 2    | SkewInputError    |
| pipeline spec, a spec this runner cannot run, a corrupt rollout file  | 2    | SpecFileError     |
|                                                                       | 2    | SpecError         |
|                                                                       | 2    | RolloutFileError  |
| --output without an ML Metadata store (a missing directory too)       | 2    | MissingStoreError |
| an ML Metadata store that is corrupt, truncated, empty or not MLMD    | 2    | StoreError        |
| skew: the check could not be done, for any reason (never 1)           | 2    | UsageError        |
| another run holds --output                                            | 3    | OutputLocked      |
| Ctrl-C                                                                | 130  | KeyboardInterrupt |

A pipeline run adds its outcomes: 1 a component failed, 4 no usable data (NoUsableRows), 5 data
anomalies (DataAnomaliesError), 6 not blessed, 7 drift (DriftError); see ExitCode.

Exceptions that never reach a command (an HTTP answer of the server: serving.requests's
RequestError, model_store's ModelNotFound; a row sent to the dead-letter output: InvalidValue)
subclass BabyweightError too, so one `except BabyweightError` at a boundary catches every error
this project raises on purpose.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Every command's exit status, one per outcome."""

    BLESSED = 0  # a pipeline run: evaluated and blessed (pushed, or already serving); a tool: done
    FAILED = 1  # a component failed, or the run ended without evaluating; a tool's job failed
    USAGE = 2  # a wrong flag, path, input file, store or --output directory
    LOCKED = 3  # another run holds --output
    UNUSABLE_DATA = 4  # no usable row, an empty split, a test split too small to evaluate
    DATA_ANOMALIES = 5  # ExampleValidator found values outside the schema
    NOT_BLESSED = 6  # evaluated, and a threshold failed
    DRIFT = 7  # the span drifted from the previous one and the drift gate stopped the run
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    OK = 0  # a tool's job done (the same code as BLESSED)


class BabyweightError(Exception):
    """An error a person can act on, said in one line, with the exit code of its cause."""

    code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, code: ExitCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(BabyweightError):
    """A flag's value, a path or an input file that cannot be used; names it and says why."""

    code = ExitCode.USAGE


class MissingStoreError(UsageError, FileNotFoundError):
    """No ML Metadata store where --output says the run is (the directory may not exist)."""


class JobFailed(BabyweightError):
    """The command ran and did not do its job (a Beam job whose counts do not add up)."""

    code = ExitCode.FAILED
