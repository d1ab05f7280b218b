"""babyweight/prediction_table.py: the domain, building, writing and reading a table, and
refusing a table made for another version, model or domain."""

from __future__ import annotations

import itertools

from babyweight import prediction_table as T
from babyweight.instances import Instance

import numpy as np
import pytest


def fake_version(tmp_path, name="1700000000", content=b"model one"):
    version = tmp_path / name
    version.mkdir()
    (version / "saved_model.pb").write_bytes(content)
    return version


def by_formula(instances):
    """A stand-in for a model's predict (the table's mechanics, not a model, are tested here):
    a different value for every row of the domain."""
    return [
        i.mother_age + i.gestation_weeks / 100 + len(i.plurality) / 1e4 + len(i.is_male) / 1e6
        for i in instances
    ]


def test_the_domain_is_the_schemas():
    domain = T.Domain.from_schema()
    assert domain.shape == (3, 45, 6, 31)
    assert domain.size == 25_110
    rows = domain.instances()
    assert len(rows) == domain.size
    assert domain.indices(rows).tolist() == list(range(domain.size))


def test_outside_the_domain_is_minus_one():
    domain = T.Domain.from_schema()
    outside = [
        Instance("True", 10, "Single(1)", 39),
        Instance("True", 30, "Single(1)", 48),
        Instance("Maybe", 30, "Single(1)", 39),
    ]
    assert domain.indices(outside).tolist() == [-1, -1, -1]


def test_write_read_and_lookup(tmp_path):
    version = fake_version(tmp_path)
    table = T.build(version, by_formula)
    path = T.write(version, table)
    assert path == version / "assets.extra" / "prediction_table.npz"
    read = T.read(version)
    rows = [
        Instance(m, a, p, w)
        for m, a, p, w in itertools.product(
            ("True", "Unknown"), (11, 30, 55), ("Twins(2)",), (17, 47)
        )
    ]
    values, found = read.lookup([*rows, Instance("True", 56, "Single(1)", 39)])
    assert found.tolist() == [True] * len(rows) + [False]
    np.testing.assert_array_equal(values[:-1], np.float32(by_formula(rows)))


def test_a_table_too_large_is_not_built(tmp_path):
    with pytest.raises(T.TableError, match="25110 rows, over 1000"):
        T.build(fake_version(tmp_path), by_formula, max_rows=1000)


def test_a_table_never_answers_for_another_version_or_model(tmp_path):
    one = fake_version(tmp_path, "1700000000")
    T.write(one, T.build(one, by_formula))
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
