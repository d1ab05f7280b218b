"""Drift, in one place: how a feature's distributions are compared, and what the drift gate found.

`set_comparator` is the comparison for every check of distributions: the pipeline's drift gate
between spans (pipeline/drift.py, the DAG component) and `babyweight skew` (serving against
training, and between serving logs): L-infinity distance of the category frequencies for a
categorical feature of the table (babyweight/features.py), approximate Jensen-Shannon divergence
of the histograms for a numeric one.

The DistributionValidator compares the new span's statistics with the previous span's, one
split pair at a time (pipeline/drift.py: train against train), and writes
`SplitPair-<split>_<split>/SchemaDiff.pb` under its artifact's URI: an Anomalies proto with a
reason per drifted feature and the measured distance of every compared one. With no previous
span it compares nothing and writes no file.
"""

from __future__ import annotations

import os

from babyweight import features as F
from babyweight.metadata.anomalies import ANOMALIES_FILE, measurements
from babyweight.metadata.store import decode_split_names

from tensorflow_metadata.proto.v0 import anomalies_pb2

SPLIT_PAIR_DIR = "SplitPair-{}"
# The threshold of each comparison, by name, in a thresholds dict (configs.DRIFT_THRESHOLDS,
# monitoring.skew.SKEW_THRESHOLDS).
CATEGORICAL_THRESHOLD, NUMERIC_THRESHOLD = "categorical_linf", "numeric_jensen_shannon"


def set_comparator(comparator, name: str, thresholds: dict) -> None:
    """A TFDV FeatureComparator for one feature of the table: L-infinity distance of the
    category frequencies for a categorical feature, approximate Jensen-Shannon divergence of the
    histograms for a numeric one."""
    if F.feature(name).categorical:
        comparator.infinity_norm.threshold = thresholds[CATEGORICAL_THRESHOLD]
    else:
        comparator.jensen_shannon_divergence.threshold = thresholds[NUMERIC_THRESHOLD]


def categorical_counts() -> list[str]:
    """Categorical features the training data holds as integers (plurality, a count): TFDV
    must be told they are categories, or it compares them as numbers."""
    return [f.name for f in F.FEATURES if f.categorical and f.stored_dtype != "string"]


def read_drift(uri: str, split_names: str) -> dict | None:
    """{"features": {feature: why}, "measurements": {feature: {...}}} of every compared split
    pair, or None when nothing was compared (no previous span)."""
    import tensorflow as tf

    features: dict[str, str] = {}
    measured: dict[str, dict[str, float]] = {}
    compared = False
    for pair in decode_split_names(split_names):
        path = os.path.join(uri, SPLIT_PAIR_DIR.format(pair), ANOMALIES_FILE)
        if not tf.io.gfile.exists(path):
            continue
        compared = True
        anomalies = anomalies_pb2.Anomalies()
        anomalies.ParseFromString(tf.io.gfile.GFile(path, "rb").read())
        for feature, info in sorted(anomalies.anomaly_info.items()):
            reasons = [r.description or r.short_description for r in info.reason]
            features[feature] = " / ".join(reasons) or info.description
        for feature, values in measurements(anomalies).items():
            measured.setdefault(feature, {}).update(values)
    if not compared:
        return None
    return {"features": features, "measurements": measured}


def drift_value(measured: dict[str, float]) -> tuple[str, float, float] | None:
    """(comparison, value, threshold) of one feature's drift measurement, or None."""
    for key, value in measured.items():
        if key.startswith("drift ") and not key.endswith(" threshold"):
            return key.removeprefix("drift "), value, measured.get(f"{key} threshold", 0.0)
    return None


SHORT_NAMES = {"l_infty": "L-infinity", "jensen_shannon_divergence": "Jensen-Shannon"}


def describe_feature(feature: str, drift: dict) -> str:
    """`mother_age (Jensen-Shannon 0.41 > 0.15)`: a drifted feature and by how much."""
    found = drift_value(drift.get("measurements", {}).get(feature, {}))
    if found is None:
        return feature
    kind, value, limit = found
    return f"{feature} ({SHORT_NAMES.get(kind, kind)} {value:.3g} > {limit:g})"


def describe(drift: dict) -> str:
    """One line naming each drifted feature with its distance and threshold."""
    return ", ".join(describe_feature(f, drift) for f in drift.get("features", {}))
