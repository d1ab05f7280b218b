"""`babyweight skew`: training-serving skew (and drift) of served requests, with TFDV (the
checks; skew_cli.py is the command line).

    babyweight skew --serving-log PATH [--output DIR] [--previous-log PATH] [--results DIR]
                    [--model-version V]

It reads the serving log (JSON lines written by the REST server, one per predicted row; see
serving_log.py for how strictly, and how values become the training representation),
computes TFDV statistics of the served features, and compares them with the statistics of the
training split that trained the served model, under the pipeline's schema:
- skew comparators (babyweight/metadata/drift.py, as the pipeline's drift gate): L-infinity
  distance for the table's categorical features (is_male, plurality), approximate
  Jensen-Shannon divergence for numeric ones; thresholds in SKEW_THRESHOLDS below;
- the schema itself in its SERVING environment (domains, types, presence);
- with --previous-log, drift: the same comparators between the earlier and this log.
It prints one line per feature, writes the anomalies (TFDV text format), both statistics and a
JSON summary under --results, and exits
- 0 when no feature is anomalous,
- 1 when one is (skew found: a deploy gate stops),
- 2 when the check could not be done: a log line that is not strict JSON (NaN, Infinity, a
  5,000-digit number, deep nesting, bytes that are not UTF-8) or lacks a field, named by its line
  number; a missing or corrupt store; training data that cannot be read; any other failure.
  Unreadable input is never reported as skew.

Which training data: each line's model_version names a pushed model; its lineage in the MLMD
store of --output leads to the ExampleGen examples and the schema that trained that model (the
Model the Pusher pushed, up through Trainer and Transform). A log that holds several versions
(the server swapped models while it logged) is split by version, and each part is compared with
its own training data; exit 1 if any part shows skew. `--model-version V` checks one part only.
When no pushed model of a version is in the store, the newest ExampleGen examples are used
(said so).

The training statistics are computed here, by the same TFDV code and options as the serving
ones, from the training rows themselves.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from pathlib import Path

from babyweight import features as F
from babyweight.layout import OutputLayout
from babyweight.metadata import drift as drift_lib
from babyweight.metadata import store as mlmd
from babyweight.metadata import trace as trace_lib
from babyweight.metadata.anomalies import measurements
from babyweight.metadata.lineage import Lineage
from babyweight.monitoring.serving_log import (
    ServingLog,
    SkewInputError,
)
from babyweight.schema import SCHEMA_PATH

TRAIN_SPLIT = "train"
# A feature fails when the distance between its training distribution (or an earlier serving
# log's) and the served one is over these.
SKEW_THRESHOLDS = {
    drift_lib.CATEGORICAL_THRESHOLD: 0.1,  # L-infinity distance of the category frequencies
    drift_lib.NUMERIC_THRESHOLD: 0.15,  # approximate Jensen-Shannon divergence of histograms
}


# -- the training side, found through lineage -------------------------------------------------
@dataclasses.dataclass
class TrainingSource:
    examples_uri: str
    schema_path: str
    how: str  # how it was found, for the person reading the output


def _root_artifacts(lin: Lineage, ids, type_name: str) -> list[int]:
    """Artifacts of a type made by a step that read nothing (ExampleGen, ImportSchemaGen)."""
    found = []
    for artifact_id in ids:
        if lin.artifacts[artifact_id].type != type_name:
            continue
        producer = lin.producer(artifact_id)
        if producer is not None and not lin.inputs[producer]:
            found.append(artifact_id)
    return sorted(found)


def open_lineage(layout: OutputLayout) -> Lineage:
    """The run's lineage; MissingStoreError (no store) or StoreError (unreadable), one line."""
    return Lineage(mlmd.open_store(layout.require_metadata(), readonly=True))


def _trained_model(lin: Lineage, pushed_id: int) -> int:
    """The Model artifact a PushedModel pushed (the Pusher's `model` input)."""
    pusher = lin.producer(pushed_id)
    inputs = lin.inputs[pusher] if pusher is not None else []
    return next((artifact_id for artifact_id, key in inputs if key == "model"), pushed_id)


def find_training_source(lin: Lineage, version: str) -> TrainingSource:
    """The examples and schema that trained the pushed model of `version`.

    Only what made the model counts (Trainer, Transform, ExampleGen ... upward from the Model the
    Pusher pushed): not the Evaluator's inputs, whose baseline model may come from older data.
    """
    pushed = trace_lib.pushed_version(lin, version) if version else None
    if pushed is not None:
        made_by = trace_lib.trace(lin, _trained_model(lin, pushed))["upstream"]
        ids = {a for step in made_by for ids in step["outputs"].values() for a in ids}
        how = f"lineage of pushed model version {version} (artifact #{pushed})"
    else:
        ids = set(lin.artifacts)
        why = f"no pushed model of version {version} in it" if version else "no model_version"
        how = f"newest examples in the store ({why})"
    examples = _root_artifacts(lin, ids, mlmd.EXAMPLES_TYPE)
    if not examples:
        raise SkewInputError("no ExampleGen examples in the ML Metadata store")
    schemas = _root_artifacts(lin, ids, mlmd.SCHEMA_TYPE)
    schema_path = str(SCHEMA_PATH)
    if schemas:
        schema_path = os.path.join(lin.artifacts[schemas[-1]].uri, "schema.pbtxt")
    return TrainingSource(lin.artifacts[examples[-1]].uri, schema_path, how)


def read_training_rows(examples_uri: str, split: str = TRAIN_SPLIT) -> list[dict]:
    import tensorflow as tf

    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    if not files:
        raise SkewInputError(f"no {split} split under {examples_uri}")
    try:
        return _examples_to_rows(tf, files)
    except tf.errors.OpError as e:
        first = (e.message or type(e).__name__).splitlines()[0]
        raise SkewInputError(f"{examples_uri}: cannot read the {split} split ({first})") from None


def _examples_to_rows(tf, files: list[str]) -> list[dict]:
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        feature = tf.train.Example.FromString(record).features.feature
        row = {}
        for key in F.FEATURE_KEYS:
            values = feature[key]
            row[key] = (
                values.bytes_list.value[0].decode()
                if values.bytes_list.value
                else values.int64_list.value[0]
                if values.int64_list.value
                else None
            )
        rows.append(row)
    return rows


# -- TFDV -------------------------------------------------------------------------------------
def skew_schema(schema_path: str, thresholds: dict, drift: bool = False):
    """The pipeline's schema with a skew (and drift) comparator on every model feature."""
    import tensorflow_data_validation as tfdv

    schema = tfdv.load_schema_text(schema_path)
    for name in F.FEATURE_KEYS:
        feature = tfdv.get_feature(schema, name)
        comparators = [feature.skew_comparator] + ([feature.drift_comparator] if drift else [])
        for comparator in comparators:
            drift_lib.set_comparator(comparator, name, thresholds)
        if F.feature(name).categorical and feature.HasField("int_domain"):
            feature.int_domain.is_categorical = True
    return schema


def statistics(rows: list[dict], schema):
    import pandas as pd
    import tensorflow_data_validation as tfdv

    frame = pd.DataFrame(rows, columns=F.FEATURE_KEYS)
    for f in F.FEATURES:  # as the training data holds them (plurality as a count)
        if f.stored_dtype != "string":
            frame[f.name] = frame[f.name].astype(f.stored_dtype)
    options = tfdv.StatsOptions(schema=schema, infer_type_from_schema=True)
    return tfdv.generate_statistics_from_dataframe(frame, stats_options=options)


def check(
    serving_rows: list[dict],
    training_rows: list[dict],
    schema_path: str,
    thresholds: dict | None = None,
    previous_rows: list[dict] | None = None,
) -> dict:
    """Compare served rows with training rows (and earlier served rows); a JSON-able result
    with the TFDV anomalies proto under "proto"."""
    import tensorflow_data_validation as tfdv

    thresholds = thresholds or SKEW_THRESHOLDS
    schema = skew_schema(schema_path, thresholds, drift=previous_rows is not None)
    serving = statistics(serving_rows, schema)
    training = statistics(training_rows, schema)
    previous = statistics(previous_rows, schema) if previous_rows is not None else None
    # The served rows against the schema, then the training rows against the served ones.
    schema_anomalies = tfdv.validate_statistics(serving, schema, environment="SERVING")
    skew_anomalies = tfdv.validate_statistics(
        training, schema, environment="SERVING", serving_statistics=serving
    )
    merged = type(skew_anomalies)()
    merged.CopyFrom(skew_anomalies)
    if previous is not None:  # drift: this log against the earlier one
        drift = tfdv.validate_statistics(serving, schema, "SERVING", previous_statistics=previous)
        for name, info in drift.anomaly_info.items():
            merged.anomaly_info[name].reason.extend(info.reason)
        merged.drift_skew_info.extend(drift.drift_skew_info)
    for name, info in schema_anomalies.anomaly_info.items():
        merged.anomaly_info[name].reason.extend(info.reason)
    failing = {
        name: [r.description or r.short_description for r in info.reason]
        for name, info in sorted(merged.anomaly_info.items())
    }
    return {
        "rows": len(serving_rows),
        "training_rows": len(training_rows),
        "thresholds": dict(thresholds),
        "measurements": measurements(merged),
        "anomalies": failing,
        "passed": not failing,
        "proto": merged,
        "statistics": {"serving": serving, "training": training},
    }


def format_result(result: dict, source: TrainingSource | None = None) -> str:
    lines = []
    if source:
        lines.append(f"training data: {source.examples_uri} (Split-{TRAIN_SPLIT}), {source.how}")
    lines.append(f"served rows: {result['rows']}; training rows: {result['training_rows']}")
    lines.append(f"{'feature':<18} {'comparison':<32} {'value':>8} {'limit':>8}  result")
    for feature in F.FEATURE_KEYS:
        values = result["measurements"].get(feature, {})
        for kind, value in values.items():
            if kind.endswith(" threshold"):
                continue
            limit = values[f"{kind} threshold"]
            verdict = "FAIL" if value > limit else "ok"
            lines.append(f"{feature:<18} {kind:<32} {value:>8.4f} {limit:>8.4f}  {verdict}")
    if result["anomalies"]:
        lines.append("anomalies:")
        for feature, reasons in result["anomalies"].items():
            lines.append(f"  - {feature}: {' / '.join(reasons)}")
        lines.append(f"SKEW CHECK FAILED on {', '.join(result['anomalies'])}")
    else:
        lines.append("anomalies: none\nskew check passed")
    return "\n".join(lines)


def version_label(version: str) -> str:
    return version or "unknown"


def write_results(result: dict, results_dir: Path, source: TrainingSource | None) -> Path:
    import tensorflow_data_validation as tfdv

    results_dir.mkdir(parents=True, exist_ok=True)
    tfdv.write_anomalies_text(result["proto"], str(results_dir / "anomalies.pbtxt"))
    for name, stats in result["statistics"].items():
        tfdv.write_stats_text(stats, str(results_dir / f"{name}_stats.pbtxt"))
    plain = {k: v for k, v in result.items() if k not in ("proto", "statistics")}
    if source:
        plain["training_source"] = dataclasses.asdict(source)
    (results_dir / "skew.json").write_text(json.dumps(plain, indent=2))
    return results_dir


def write_all_results(checked: dict, results_dir: Path) -> None:
    """One model version: its files in results_dir. Several: each version's files in
    results_dir/<version>/ and a skew.json there that lists every version's verdict."""
    if len(checked) == 1:
        [(version, (source, result))] = checked.items()
        write_results({**result, "model_version": version}, results_dir, source)
        return
    summary = {"passed": all(r["passed"] for _, r in checked.values()), "versions": {}}
    for version, (source, result) in checked.items():
        label = version_label(version)
        write_results({**result, "model_version": version}, results_dir / label, source)
        summary["versions"][label] = {
            "passed": result["passed"],
            "rows": result["rows"],
            "anomalies": result["anomalies"],
            "results": str(results_dir / label),
        }
    (results_dir / "skew.json").write_text(json.dumps(summary, indent=2))


def select_versions(log: ServingLog, only: str | None) -> dict[str, list[dict]]:
    grouped = log.by_version()
    if only is None:
        return grouped
    if only not in grouped:
        held = ", ".join(version_label(v) for v in grouped)
        raise SkewInputError(f"--model-version {only}: no rows of it in the log (it has {held})")
    return {only: grouped[only]}
