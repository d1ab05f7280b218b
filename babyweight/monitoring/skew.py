"""`babyweight skew`: training-serving skew (and drift) of served requests, with TFDV.

    babyweight skew --serving-log PATH [--output DIR] [--previous-log PATH] [--results DIR]

It reads the serving log (JSON lines written by the REST server, one per predicted row),
computes TFDV statistics of the served features, and compares them with the statistics of the
training split that trained the served model, under the pipeline's schema:
- skew comparators: L-infinity distance for categorical features (is_male, plurality),
  approximate Jensen-Shannon divergence for numeric ones; thresholds in SKEW_THRESHOLDS below;
- the schema itself in its SERVING environment (domains, types, presence);
- with --previous-log, drift: the same comparators between the earlier and this log.
It prints one line per feature, writes the anomalies (TFDV text format), both statistics and a
JSON summary under --results, and exits 1 when any feature is anomalous (so it can gate a
deploy), 2 when the log or the store cannot be read, 0 otherwise.

Which training data: the log's model_version names a pushed model; its lineage in the MLMD
store of --output leads to the ExampleGen examples and the schema that trained it. When no
pushed model of that version is in the store, the newest ExampleGen examples are used (said so).

From the log to the training representation (each line read by babyweight.instances, the rules
of the server, without the schema's ranges, which TFDV checks):
- is_male stays a string: "True", "False" or "Unknown". Training data has no "Unknown", so many
  of them show up as skew, which is the point.
- plurality labels become their count, as in the training data ("Twins(2)" -> 2).
  "Multiple(2+)" has no count: it counts as twins (features.plurality_count), so a log of many
  "Multiple(2+)" shows as more twins than in training.
- plurality is compared as a category (it is one in the model), not as a number: its training
  distribution is nearly all 1, where a histogram distance is noise.
The training statistics are computed here, by the same TFDV code and options as the serving
ones (StatisticsGen's were computed without the categorical marker for plurality).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import json
import os
import sys
import time
from pathlib import Path

from babyweight import features as F
from babyweight.instances import InvalidInstance, parse_instance
from babyweight.layout import OutputLayout, add_output_argument
from babyweight.metadata import store as mlmd
from babyweight.metadata import trace as trace_lib
from babyweight.metadata.lineage import Lineage
from babyweight.schema import SCHEMA_PATH

CATEGORICAL = [F.IS_MALE, F.PLURALITY]
NUMERIC = [F.MOTHER_AGE, F.GESTATION_WEEKS]
TRAIN_SPLIT = "train"
# A feature fails when the distance between its training distribution (or an earlier serving
# log's) and the served one is over these.
SKEW_THRESHOLDS = {
    "categorical_linf": 0.1,  # L-infinity distance of the category frequencies
    "numeric_jensen_shannon": 0.15,  # approximate Jensen-Shannon divergence of the histograms
}


class SkewInputError(ValueError):
    """The serving log, or the store it is compared with, cannot be used; says where and why."""


@dataclasses.dataclass
class ServingLog:
    rows: list[dict]  # feature -> value, in the training representation
    model_versions: collections.Counter


def parse_features(features, where: str) -> dict:
    """One served row's features in the training representation, or an error naming the field."""
    if not isinstance(features, dict):
        raise SkewInputError(f"{where}: field features: expected an object, got {features!r}")
    missing = [k for k in F.FEATURE_KEYS if k not in features]
    if missing:
        raise SkewInputError(f"{where}: field features: missing {', '.join(missing)}")
    try:
        instance = parse_instance(features, check_domains=False)
    except InvalidInstance as e:
        raise SkewInputError(f"{where}: field features.{e}") from None
    return {
        F.IS_MALE: instance.is_male,
        F.MOTHER_AGE: instance.mother_age,
        F.PLURALITY: F.plurality_count(instance.plurality),
        F.GESTATION_WEEKS: instance.gestation_weeks,
    }


def read_serving_log(path) -> ServingLog:
    """Every row of a JSON-lines serving log; a bad line is an error naming its number."""
    path = Path(path)
    if not path.is_file():
        raise SkewInputError(f"serving log {path}: no such file")
    rows, versions = [], collections.Counter()
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise SkewInputError(f"{where}: not JSON ({e.msg})") from None
            if isinstance(record, dict) and "event" in record:
                continue  # a rollout event (babyweight/serving/log.py), not a served row
            if not isinstance(record, dict) or "features" not in record:
                raise SkewInputError(f"{where}: field features: missing")
            rows.append(parse_features(record["features"], where))
            versions[str(record.get("model_version", ""))] += 1
    if not rows:
        raise SkewInputError(f"serving log {path}: no rows")
    return ServingLog(rows, versions)


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


def find_training_source(
    layout: OutputLayout, model_versions: collections.Counter
) -> TrainingSource:
    try:
        path = layout.require_metadata()
    except FileNotFoundError as e:
        raise SkewInputError(str(e)) from None
    lin = Lineage(mlmd.open_store(path, readonly=True))
    version, how = None, ""
    for candidate, _ in model_versions.most_common():
        try:
            artifact_id = trace_lib.resolve(lin, candidate) if candidate else None
        except LookupError:
            continue
        if artifact_id is not None and lin.artifacts[artifact_id].type == "PushedModel":
            version = candidate
            ids = [int(a) for a in trace_lib.trace(lin, artifact_id)["artifacts"]]
            how = f"lineage of pushed model version {version} (artifact #{artifact_id})"
            break
    if version is None:
        ids = list(lin.artifacts)
        seen = ", ".join(sorted(model_versions)) or "none"
        how = f"newest examples in the store (no pushed model of version {seen} in it)"
    examples = _root_artifacts(lin, ids, "Examples")
    if not examples:
        raise SkewInputError(f"no ExampleGen examples in {path}")
    schemas = _root_artifacts(lin, ids, "Schema")
    schema_path = str(SCHEMA_PATH)
    if schemas:
        schema_path = os.path.join(lin.artifacts[schemas[-1]].uri, "schema.pbtxt")
    return TrainingSource(lin.artifacts[examples[-1]].uri, schema_path, how)


def read_training_rows(examples_uri: str, split: str = TRAIN_SPLIT) -> list[dict]:
    import tensorflow as tf

    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    if not files:
        raise SkewInputError(f"no {split} split under {examples_uri}")
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
            if name in CATEGORICAL:
                comparator.infinity_norm.threshold = thresholds["categorical_linf"]
            else:
                comparator.jensen_shannon_divergence.threshold = thresholds[
                    "numeric_jensen_shannon"
                ]
        if name in CATEGORICAL and feature.HasField("int_domain"):
            feature.int_domain.is_categorical = True
    return schema


def statistics(rows: list[dict], schema):
    import pandas as pd
    import tensorflow_data_validation as tfdv

    frame = pd.DataFrame(rows, columns=F.FEATURE_KEYS)
    for name in F.FEATURE_KEYS:
        if name != F.IS_MALE:
            frame[name] = frame[name].astype("int64")
    options = tfdv.StatsOptions(schema=schema, infer_type_from_schema=True)
    return tfdv.generate_statistics_from_dataframe(frame, stats_options=options)


def measurements(anomalies) -> dict[str, dict[str, float]]:
    """{feature: {"skew <kind>" or "drift <kind>": value}} from TFDV's drift_skew_info."""
    found: dict[str, dict[str, float]] = {}
    for info in anomalies.drift_skew_info:
        feature = ".".join(info.path.step)
        for label, items in (("skew", info.skew_measurements), ("drift", info.drift_measurements)):
            for m in items:
                kind = type(m).Type.Name(m.type).lower()
                found.setdefault(feature, {})[f"{label} {kind}"] = round(m.value, 4)
                found[feature][f"{label} {kind} threshold"] = round(m.threshold, 4)
    return found


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


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="babyweight skew",
        description="Training-serving skew and drift of served requests (TFDV).",
    )
    parser.add_argument("--serving-log", type=Path, required=True, help="JSON-lines serving log")
    add_output_argument(parser)
    parser.add_argument("--previous-log", type=Path, help="an earlier serving log, for drift")
    parser.add_argument(
        "--results", type=Path, help="where to write the anomalies (default: OUTPUT/skew/LOGNAME)"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # a command line tool: no TF banner
    args = parse_args(argv)
    layout = OutputLayout(args.output)
    started = time.monotonic()
    try:
        log = read_serving_log(args.serving_log)
        previous = read_serving_log(args.previous_log).rows if args.previous_log else None
        source = find_training_source(layout, log.model_versions)
        training = read_training_rows(source.examples_uri)
        result = check(log.rows, training, source.schema_path, previous_rows=previous)
    except SkewInputError as e:
        print(f"skew: {e}", file=sys.stderr)
        return 2
    results_dir = args.results or layout.skew_dir(args.serving_log.stem)
    write_results(result, results_dir, source)
    print(format_result(result, source))
    print(f"anomalies written to {results_dir / 'anomalies.pbtxt'}")
    print(f"({time.monotonic() - started:.1f}s)")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
