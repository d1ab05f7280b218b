"""TFDV statistics of a StatisticsGen artifact, read by URI: counts and rows for a person."""

from __future__ import annotations

import os

from babyweight.metadata.store import decode_split_names

STATS_FILE = "FeatureStats.pb"  # StatisticsGen's binary statistics, one per split


def statistics_file(uri: str, split: str) -> str:
    return os.path.join(uri, f"Split-{split}", STATS_FILE)


def load(uri: str, split: str):
    """The DatasetFeatureStatisticsList of one split, or None when the split has none."""
    import tensorflow as tf
    import tensorflow_data_validation as tfdv

    path = statistics_file(uri, split)  # a local path or gs://: the KFP report step reads those
    return tfdv.load_stats_binary(path) if tf.io.gfile.exists(path) else None


def split_counts(uri: str, split_names: str) -> dict[str, int]:
    """Rows per split."""
    counts = {}
    for split in decode_split_names(split_names):
        stats = load(uri, split)
        counts[split] = int(stats.datasets[0].num_examples) if stats and stats.datasets else 0
    return counts


def feature_rows(stats_list) -> list[dict]:
    """One dict per feature of a TFDV DatasetFeatureStatisticsList (first dataset)."""
    rows = []
    if not stats_list.datasets:
        return rows
    dataset = stats_list.datasets[0]
    for feature in dataset.features:
        name = ".".join(feature.path.step) or feature.name
        row = {"feature": name, "type": type(feature).Type.Name(feature.type)}
        if feature.HasField("num_stats"):
            s = feature.num_stats
            common = s.common_stats
            median = next((q for q in _quantile(s) if q is not None), None)
            row.update(
                count=common.num_non_missing,
                missing=common.num_missing,
                summary=(
                    f"mean {s.mean:.2f}, sd {s.std_dev:.2f}, min {s.min:g}, "
                    + (f"median {median:g}, " if median is not None else "")
                    + f"max {s.max:g}, zeros {s.num_zeros}"
                ),
            )
            standard = [h for h in s.histograms if h.type == h.STANDARD]
            if standard:
                row["histogram"] = [
                    (f"{b.low_value:g}-{b.high_value:g}", b.sample_count)
                    for b in standard[0].buckets
                ]
        elif feature.HasField("string_stats"):
            s = feature.string_stats
            common = s.common_stats
            top = ", ".join(f"{v.value} ({v.frequency:g})" for v in s.top_values[:5])
            row.update(
                count=common.num_non_missing,
                missing=common.num_missing,
                summary=f"{s.unique} unique; top: {top}",
                histogram=[(b.label, b.sample_count) for b in s.rank_histogram.buckets[:10]],
            )
        rows.append(row)
    return rows


def _quantile(num_stats):
    """The median from TFDV's quantiles histogram, when it has one."""
    for h in num_stats.histograms:
        if h.type == h.QUANTILES and h.buckets:
            middle = h.buckets[len(h.buckets) // 2]
            yield middle.low_value
    yield None


def by_split(uri: str, split_names: str) -> dict[str, list[dict]]:
    """feature_rows of every split that has statistics."""
    result = {}
    for split in decode_split_names(split_names):
        stats = load(uri, split)
        if stats is not None:
            result[split] = feature_rows(stats)
    return result
