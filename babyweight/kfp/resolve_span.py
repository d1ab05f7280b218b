"""The `ResolveSpan` task of the compiled `kfp` spec: which span an ExampleGen reads.

On OSS KFP no TFX driver runs, and the cache key of a task holds only its parameters
(kubeflow/pipelines@7b70c7b9 backend/src/v2/driver/cache.go): ExampleGen's `input_base` and
`span-{SPAN}/*.csv` are the same over new files, so a cached rerun would reuse old examples.
This task, never cached, resolves the span, the span's own pattern and the files' fingerprint
(TFX's FileBasedInputProcessor, as TFX's driver does) and hands them to ExampleGen as
parameters, so ExampleGen's cache key changes exactly when its input does.

A query-based ExampleGen (BigQuery) has no spans and no files to fingerprint: it reads the table
anew on every run (never cached). Given no `input_base`, the task numbers this read of the table
instead (one more than any span the state record knows, babyweight/baseline.py `next_read`), so
the read is the run's span: its statistics are recorded under it, the previous read's are the
previous statistics, and every pushed model was trained on other data (an earlier read).

Given `serving_model_dir` (the Pusher's destination), it also answers what the run builds on,
as babyweight/baseline.py decides from that directory and its state record (the OSS backend
runs no Resolver): `baseline`, `base_model` and `previous_statistics`, each a directory or ""
for none, with the reasons printed. spec_patch.py hands them to the tasks of pipeline/baseline.py.

    python -m babyweight.kfp.resolve_span --executor_input '{{$}}'

It writes its output parameters to the executor input's output metadata file, as a KFP v2
container component does (the launcher reads that file back, launcher_v2.go
getExecutorOutputFile).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

OUTPUTS = {"input_config": "STRING", "input_fingerprint": "STRING", "span": "NUMBER_INTEGER"}
CHOICES = {"baseline": "STRING", "base_model": "STRING", "previous_statistics": "STRING"}
SERVING_MODEL_DIR = "serving_model_dir"
INPUT_BASE = "input_base"  # a file-based ExampleGen's; a query-based one (BigQuery) has none


def outputs_of(executor_input: dict) -> dict:
    params = executor_input["inputs"]["parameterValues"]
    resolved = files_of(params) if INPUT_BASE in params else read_of(params)
    values = {key: resolved[key] for key in OUTPUTS}
    if SERVING_MODEL_DIR in params:
        values.update(choices_of(params[SERVING_MODEL_DIR], values))
    return values


def files_of(params: dict) -> dict:
    """A file-based ExampleGen's span, fingerprint and span pattern (task_entry.resolve_span)."""
    from babyweight.kfp.task_entry import resolve_span

    resolved = resolve_span(params[INPUT_BASE], params["input_config"], params.get("range_config"))
    if "version" in resolved:
        raise ValueError("a {VERSION} pattern is not supported on KFP (no version parameter)")
    return resolved


def read_of(params: dict) -> dict:
    """A query-based ExampleGen (BigQuery), which has no spans: this read of the table gets the
    next read number of the state record (babyweight/baseline.py `next_read`) as its span, and a
    fingerprint naming the read and the query; the query itself is passed on unchanged."""
    from babyweight import baseline

    query = params["input_config"]
    serving_model_dir = params.get(SERVING_MODEL_DIR)
    span = baseline.next_read(serving_model_dir) if serving_model_dir else 0
    digest = hashlib.sha256(query.encode()).hexdigest()[:16]
    fingerprint = f"read {span} of query {digest}"
    return {"input_config": query, "span": span, "input_fingerprint": fingerprint}


def choices_of(serving_model_dir: str, resolved: dict) -> dict:
    """What the run builds on (babyweight/baseline.py), "" for none; prints why."""
    from babyweight import baseline

    choice = baseline.choose(serving_model_dir, resolved["span"], resolved["input_fingerprint"])
    for note in choice.notes:
        print(note)
    return {key: getattr(choice, key) or "" for key in CHOICES}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babyweight.kfp.resolve_span")
    parser.add_argument("--executor_input", required=True)
    args = parser.parse_args(argv)
    executor_input = json.loads(args.executor_input)
    try:
        values = outputs_of(executor_input)
    except (ValueError, KeyError) as e:  # babyweight.baseline.StateError is a ValueError
        print(f"babyweight.kfp.resolve_span: {e}", file=sys.stderr)
        return 1
    path = executor_input["outputs"]["outputFile"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"parameterValues": values}, f)
    print(f"span {values['span']}: {values['input_fingerprint']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
