"""babyweight/prediction_table.py: the domain, choosing a table's rows (the whole domain or the
most frequent combinations), writing and reading a table, looking rows up, and refusing a table
made for another version, model or domain. (The batch job that fills a real model's table:
tests/batch/test_table.py.)"""

from __future__ import annotations

import itertools

from babyweight import prediction_table as T
from babyweight.instances import Instance

import numpy as np
import pytest


def row(is_male, mother_age, plurality, gestation_weeks) -> dict:
    return dict(
        is_male=is_male, mother_age=mother_age, plurality=plurality, gestation_weeks=gestation_weeks
    )


def fake_version(tmp_path, name="1700000000", content=b"model one"):
    version = tmp_path / name
    version.mkdir()
    (version / "saved_model.pb").write_bytes(content)
    return version


def by_formula(instances):
    """Stand-in predictions (the table's mechanics, not a model, are tested here): a different
    value for every row of the domain."""
    return [
        i.mother_age + i.gestation_weeks / 100 + len(i.plurality) / 1e4 + len(i.is_male) / 1e6
        for i in instances
    ]


def build(version, rows=None):
    """The table of `version` holding by_formula's value of each of `rows` (default: all)."""
    domain = T.Domain.from_features()
    rows = np.arange(domain.size) if rows is None else np.asarray(rows)
    instances = domain.instances()
    return T.make(version, rows, by_formula([instances[r] for r in rows.tolist()]))


def test_the_domain_is_the_feature_tables():
    domain = T.Domain.from_features()
    assert domain.shape == (3, 45, 6, 31)
    assert domain.size == 25_110
    rows = domain.instances()
    assert len(rows) == domain.size
    assert domain.indices(rows).tolist() == list(range(domain.size))


def test_outside_the_domain_is_minus_one():
    domain = T.Domain.from_features()
    outside = [
        Instance(row("True", 10, "Single(1)", 39)),
        Instance(row("True", 30, "Single(1)", 48)),
        Instance(row("Maybe", 30, "Single(1)", 39)),
    ]
    assert domain.indices(outside).tolist() == [-1, -1, -1]


def test_write_read_and_lookup(tmp_path):
    version = fake_version(tmp_path)
    table = build(version)
    path = T.write(version, table)
    assert path == version / "assets.extra" / "prediction_table.npz"
    read = T.read(version)
    rows = [
        Instance(row(m, a, p, w))
        for m, a, p, w in itertools.product(
            ("True", "Unknown"), (11, 30, 55), ("Twins(2)",), (17, 47)
        )
    ]
    values, found = read.lookup([*rows, Instance(row("True", 56, "Single(1)", 39))])
    assert found.tolist() == [True] * len(rows) + [False]
    np.testing.assert_array_equal(values[:-1], np.float32(by_formula(rows)))


def test_a_domain_over_the_limit_is_tabled_by_its_most_frequent_rows():
    domain = T.Domain.from_features()
    np.testing.assert_array_equal(T.table_rows(domain, domain.size), np.arange(domain.size))
    counts = np.zeros(domain.size, dtype=np.int64)
    counts[[7, 3, 900, 25_000, 12]] = [5, 9, 5, 1, 2]
    assert T.table_rows(domain, 3, counts).tolist() == [3, 7, 900]  # 9, 5, 5
    assert T.table_rows(domain, 2, counts).tolist() == [3, 7]  # a tie: the lower row
    assert T.table_rows(domain, 1000, counts).tolist() == [3, 7, 12, 900, 25_000]  # seen only
    with pytest.raises(T.TableError, match="25110 rows, over 1000, and there are no training"):
        T.table_rows(domain, 1000)


def test_count_rows_counts_columns_as_the_training_data_holds_them():
    domain = T.Domain.from_features()
    columns = {
        "is_male": np.array([b"True", b"True", b"False", b"Maybe"]),
        "mother_age": np.array([30, 30, 30, 30]),
        "plurality": np.array([b"Single(1)", b"Single(1)", b"Twins(2)", b"Single(1)"]),
        "gestation_weeks": np.array([39, 39, 40, 39]),
    }
    counts = T.count_rows(domain, columns)
    rows = [Instance(row("True", 30, "Single(1)", 39)), Instance(row("False", 30, "Twins(2)", 40))]
    index = domain.indices(rows)
    assert counts.sum() == 3 and counts[index].tolist() == [2, 1]  # "Maybe" is no domain row


def test_a_partial_table_finds_only_its_rows(tmp_path):
    version = fake_version(tmp_path)
    domain = T.Domain.from_features()
    instances = domain.instances()
    T.write(version, build(version, [900, 3, 25_109]))
    table = T.read(version)
    assert table.rows.tolist() == [3, 900, 25_109] and not table.full
    asked = [instances[r] for r in (3, 4, 900, 25_109, 0)]
    asked.append(Instance(row("True", 56, "Single(1)", 39)))
    values, found = table.lookup(asked)
    assert found.tolist() == [True, False, True, True, False, False]
    np.testing.assert_array_equal(values[found], np.float32(by_formula(asked))[found])
    assert np.isnan(values[~found]).all()


def test_a_table_never_answers_for_another_version_or_model(tmp_path):
    one = fake_version(tmp_path, "1700000000")
    T.write(one, build(one))
    copied = fake_version(tmp_path, "1700000001")
    (copied / "assets.extra").mkdir()
    (copied / "assets.extra" / "prediction_table.npz").write_bytes(
        (one / "assets.extra" / "prediction_table.npz").read_bytes()
    )
    with pytest.raises(T.TableError, match="made for version 1700000000's model"):
        T.read(copied)
    (one / "saved_model.pb").write_bytes(b"retrained in place")
    with pytest.raises(T.TableError, match="not this one"):
        T.read(one)


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04 torn"])
def test_a_broken_or_missing_table_is_a_table_error(tmp_path, content):
    version = fake_version(tmp_path)
    with pytest.raises(T.TableError, match="no prediction table"):
        T.read(version)
    (version / "assets.extra").mkdir()
    (version / "assets.extra" / "prediction_table.npz").write_bytes(content)
    with pytest.raises(T.TableError, match="unreadable prediction table"):
        T.read(version)
