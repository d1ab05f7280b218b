"""Staging CSV input: column projection, dropped rows with reasons, stable split keys."""

import csv
import os

from babyweight import features as F
from babyweight.layout import OutputLayout

import pytest
from helpers import write_rows

from pipeline import staging

HEADER = [
    "weight_pounds",
    "is_male",
    "mother_age",
    "plurality",
    "gestation_weeks",
    "year",
    "month",
    "cig_0",
]


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_keeps_model_columns_drops_bad_labels_and_says_why(tmp_path):
    data = write_rows(
        tmp_path / "in.csv",
        HEADER,
        [
            ["7.5", "True", "30", "1", "39", "2014", "", "0"],
            ["", "False", "22", "1", "40", "2014", "", "0"],  # no label
            ["-1", "False", "22", "1", "40", "2014", "", "0"],  # non-positive label
            ["6.1", "True", "28", "1", "", "2014", "", "3"],  # no gestation
            ["6.1", "True", "28", "1", "abc", "2014", "", "3"],  # text: kept for the validator
        ],
    )
    report = staging.stage_csv(data, OutputLayout(tmp_path))
    kept = read(os.path.join(report.examples_dir, "data.csv"))
    assert list(kept[0]) == [*F.REQUIRED_COLUMNS, F.SPLIT_KEY]
    assert [r[F.GESTATION_WEEKS] for r in kept] == ["39", "abc"]
    assert report.rows_read == 5 and report.rows_kept == 2
    assert report.dropped == {
        "gestation_weeks missing": 1,
        "weight_pounds missing": 1,
        "weight_pounds not positive": 1,
    }
    lost = read(report.dropped_file)
    assert [(r["line"], r["reason"]) for r in lost] == [
        ("3", "weight_pounds missing"),
        ("4", "weight_pounds not positive"),
        ("5", "gestation_weeks missing"),
    ]


def test_missing_column_is_named(tmp_path):
    data = write_rows(
        tmp_path / "in.csv", ["weight_pounds", "is_male", "mother_age"], [["7", "True", "30"]]
    )
    with pytest.raises(ValueError, match=r"missing column\(s\) \['plurality', 'gestation_weeks'\]"):
        staging.stage_csv(data, OutputLayout(tmp_path))


def test_directory_input_reads_every_csv(tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(2):
        write_rows(
            tmp_path / "in" / f"part{i}.csv",
            HEADER,
            [["7.5", "True", str(30 + i), "1", "39", "", "", ""]],
        )
    report = staging.stage_csv(tmp_path / "in", OutputLayout(tmp_path))
    assert report.rows_kept == 2 and len(report.files) == 2


def test_split_key_is_year_month_when_known_else_the_row():
    row = dict(zip(HEADER, ["7.5", "True", "30", "1", "39", "2014", "5", "0"], strict=True))
    kind, key = staging.split_key(row)
    assert kind == "year-month"
    assert staging.split_key({**row, "weight_pounds": "9.0"}) == (kind, key)  # same month
    no_month = {**row, "month": ""}
    kind, key = staging.split_key(no_month)
    assert kind == "row"
    assert staging.split_key(dict(no_month)) == (kind, key)
    assert staging.split_key({**no_month, "mother_age": "31"})[1] != key


def test_rerun_with_same_data_keeps_the_staged_file(tmp_path):
    data = write_rows(tmp_path / "in.csv", HEADER, [["7.5", "True", "30", "1", "39", "", "", ""]])
    report = staging.stage_csv(data, OutputLayout(tmp_path))
    staged = os.path.join(report.examples_dir, "data.csv")
    os.utime(staged, (1, 1))
    staging.stage_csv(data, OutputLayout(tmp_path))
    assert os.stat(staged).st_mtime == 1  # unchanged: ExampleGen's fingerprint stays valid


def test_all_rows_dropped_is_an_error(tmp_path):
    data = write_rows(tmp_path / "in.csv", HEADER, [["0", "True", "30", "1", "39", "", "", ""]])
    with pytest.raises(ValueError, match="no usable row"):
        staging.stage_csv(data, OutputLayout(tmp_path))
