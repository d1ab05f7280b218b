"""Read ExampleValidator's anomalies and say them in words, per feature."""

from __future__ import annotations

import os

from babyweight.metadata.store import decode_split_names

from tensorflow_metadata.proto.v0 import anomalies_pb2

ANOMALIES_FILE = "SchemaDiff.pb"


def read_anomalies(uri: str, split_names: str) -> dict[str, dict[str, str]]:
    """{split: {feature: description}} for every split of an ExampleAnomalies artifact."""
    import tensorflow as tf

    found: dict[str, dict[str, str]] = {}
    for split in decode_split_names(split_names):
        path = os.path.join(uri, f"Split-{split}", ANOMALIES_FILE)
        if not tf.io.gfile.exists(path):
            continue
        anomalies = anomalies_pb2.Anomalies()
        anomalies.ParseFromString(tf.io.gfile.GFile(path, "rb").read())
        per_feature = {
            feature: info.description or info.short_description
            for feature, info in sorted(anomalies.anomaly_info.items())
        }
        if anomalies.HasField("dataset_anomaly_info"):
            per_feature["(dataset)"] = anomalies.dataset_anomaly_info.description
        if per_feature:
            found[split] = per_feature
    return found


def by_feature(found: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """{feature: {split: description}}: the shape a person reads best."""
    result: dict[str, dict[str, str]] = {}
    for split, features in found.items():
        for feature, description in features.items():
            result.setdefault(feature, {})[split] = description
    return dict(sorted(result.items()))


def describe(found: dict[str, dict[str, str]]) -> str:
    """One line per anomalous feature: its name, the splits, and why."""
    lines = []
    for feature, splits in by_feature(found).items():
        reasons = sorted(set(splits.values()))
        lines.append(f"  - {feature} ({', '.join(sorted(splits))}): {' / '.join(reasons)}")
    return "\n".join(lines)


def measurements(anomalies) -> dict[str, dict[str, float]]:
    """{feature: {"skew <kind>" or "drift <kind>": value, "... threshold": limit}} from TFDV's
    drift_skew_info (kind: l_infty, jensen_shannon_divergence)."""
    found: dict[str, dict[str, float]] = {}
    for info in anomalies.drift_skew_info:
        feature = ".".join(info.path.step)
        for label, items in (("skew", info.skew_measurements), ("drift", info.drift_measurements)):
            for m in items:
                kind = type(m).Type.Name(m.type).lower()
                found.setdefault(feature, {})[f"{label} {kind}"] = round(m.value, 4)
                found[feature][f"{label} {kind} threshold"] = round(m.threshold, 4)
    return found
