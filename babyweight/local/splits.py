"""Which split key the staged rows use, and the split each row will land in.

ExampleGen hashes the split key into buckets (pipeline/pipeline.py split_config): the split of
a row is sha256 of the key's serialized tf.train.Feature, modulo the bucket count (TFX's
base_example_gen_executor._PartitionFn). `split_of` computes the same here, so staging knows
the rows per split before ExampleGen runs (tests/test_split.py checks it against CsvExampleGen).

The course's key is the year-month of the birth: every birth of a month goes to one split. That
only gives each split its share when there are many months: a year of data has 12 keys, and
hashing 12 keys into 10 buckets can leave eval or test empty. So the year-month key is used
when every row has one, there are at least `min_keys` of them, and the resulting fractions are
within `tolerance` of the configured shares; otherwise the key is a fingerprint of the row.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import hashlib
import itertools

YEAR_MONTH, ROW = "year-month", "row"


def fingerprint(text: str) -> int:
    """A stable non-negative 63-bit key (an int64 feature in the staged examples)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _serialized_int64_feature(key: int) -> bytes:
    """tf.train.Feature(int64_list=Int64List(value=[key])).SerializeToString(), key >= 0."""
    values = _varint(key)
    int64_list = b"\x0a" + _varint(len(values)) + values  # field 1, packed
    return b"\x1a" + _varint(len(int64_list)) + int64_list  # Feature field 3: int64_list


def split_of(key: int, buckets: dict[str, int]) -> str:
    """The split ExampleGen puts a row with this split key in (hash buckets, in order)."""
    bounds = list(itertools.accumulate(buckets.values()))
    digest = hashlib.sha256(_serialized_int64_feature(key)).hexdigest()
    return list(buckets)[bisect.bisect(bounds, int(digest, 16) % bounds[-1])]


def fractions(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {split: round(n / total, 4) for split, n in counts.items()}


@dataclasses.dataclass
class SplitChoice:
    key: str  # YEAR_MONTH or ROW
    reason: str
    counts: dict[str, int]  # rows per split, as ExampleGen will make them

    @property
    def fractions(self) -> dict[str, float]:
        return fractions(self.counts)


class KeyCounter:
    """Counts, while rows stream by, the rows per split under each candidate key."""

    def __init__(self, buckets: dict[str, int]):
        self.buckets = buckets
        self.rows = 0
        self.by_row = collections.Counter()
        self.months = collections.Counter()  # "2014-5" -> rows
        self.without_month = 0

    def add(self, row_key: int, year_month: str | None) -> None:
        self.rows += 1
        self.by_row[split_of(row_key, self.buckets)] += 1
        if year_month is None:
            self.without_month += 1
        else:
            self.months[year_month] += 1

    def year_month_counts(self) -> dict[str, int]:
        counts = collections.Counter()
        for year_month, rows in self.months.items():
            counts[split_of(fingerprint(year_month), self.buckets)] += rows
        return {split: counts[split] for split in self.buckets}

    def choose(self, min_keys: int, tolerance: float) -> SplitChoice:
        row_counts = {split: self.by_row[split] for split in self.buckets}
        shares = fractions(self.buckets)
        if not self.months:
            return SplitChoice(ROW, "the rows have no year and month", row_counts)
        if self.without_month:
            why = f"{self.without_month} of {self.rows} rows have no year and month"
            return SplitChoice(ROW, why, row_counts)
        if len(self.months) < min_keys:
            why = f"only {len(self.months)} distinct year-months (needs {min_keys})"
            return SplitChoice(ROW, why, row_counts)
        counts = self.year_month_counts()
        got = fractions(counts)
        share_text = "/".join(f"{shares[s]:.0%}" for s in self.buckets)
        got_text = "/".join(f"{got[s]:.1%}" for s in self.buckets)
        if any(abs(got[s] - shares[s]) > tolerance for s in self.buckets):
            why = (
                f"the {len(self.months)} year-months would split {got_text}, more than "
                f"{tolerance:.0%} off {share_text}"
            )
            return SplitChoice(ROW, why, row_counts)
        why = f"{len(self.months)} distinct year-months split {got_text}, within {tolerance:.0%}"
        return SplitChoice(YEAR_MONTH, why, counts)


def unusable_split(counts: dict[str, int], test_split: str, min_test_rows: int) -> str | None:
    """One sentence naming the split that cannot train or evaluate a model, or None."""
    for split, n in counts.items():
        if n == 0:
            return (
                f"the {split} split would have no rows ({sum(counts.values())} usable rows in "
                "all); give the run more rows"
            )
    if counts.get(test_split, 0) < min_test_rows:
        return (
            f"the {test_split} split would have only {counts.get(test_split, 0)} rows, too few "
            f"to evaluate the model (needs at least {min_test_rows}); give the run more rows"
        )
    return None
