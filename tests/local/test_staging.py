"""Staging CSV input: input formats, spellings, dropped rows with reasons, encodings, the split key.

Every fixture is made of real rows of data/births.csv or ../shared/data/natality/."""

import csv
import os

from babyweight import features as F
from babyweight.layout import OutputLayout
from babyweight.local import input_formats, splits, staging

import pytest
from helpers import REPO, bigquery_export, natality_rows, read_rows, write_rows


def stage(tmp_path, header, rows) -> staging.StageReport:
    return staging.stage_csv(write_rows(tmp_path / "in.csv", header, rows), OutputLayout(tmp_path))


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def births(limit=None, every=1):
    """(header, rows) of data/births.csv (weight_pounds, is_male, ..., year, source, ...)."""
    return read_rows(REPO / "data" / "births.csv", every, limit)


def test_keeps_model_columns_drops_bad_labels_and_says_why(tmp_path):
    header, rows = births(limit=5)
    rows[1][0] = ""  # no label
    rows[2][0] = "-1"  # not positive
    rows[3][4] = ""  # no gestation
    rows[4][4] = "abc"  # text: kept for the validator
    report = staging.stage_csv(
        write_rows(tmp_path / "in.csv", header, rows), OutputLayout(tmp_path)
    )
    kept = read(os.path.join(report.examples_dir, "data.csv"))
    assert list(kept[0]) == [*F.REQUIRED_COLUMNS, F.SPLIT_KEY]
    assert [r[F.GESTATION_WEEKS] for r in kept] == [rows[0][4], "abc"]
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


def test_a_header_of_no_input_format_names_what_is_missing_and_each_format(tmp_path):
    header, rows = births(limit=1)
    data = write_rows(tmp_path / "in.csv", header[:3], [r[:3] for r in rows])
    with pytest.raises(input_formats.InputFormatError) as e:
        staging.stage_csv(data, OutputLayout(tmp_path))
    message = str(e.value)
    missing = "missing column(s) ['plurality', 'gestation_weeks'] of the bigquery input format"
    assert missing in message
    assert "cdc (dbwt, sex, mager, dplural, combgest)" in message
    assert "\n" not in message
    with pytest.raises(input_formats.InputFormatError):
        staging.check_headers(data)  # the runner's cheap check, before anything is written


def test_directory_input_reads_every_csv(tmp_path):
    header, rows = births(limit=2)
    (tmp_path / "in").mkdir()
    for i in range(2):
        write_rows(tmp_path / "in" / f"part{i}.csv", header, [rows[i]])
    report = staging.stage_csv(tmp_path / "in", OutputLayout(tmp_path))
    assert report.rows_kept == 2 and len(report.files) == 2
    assert set(report.input_formats.values()) == {"bigquery"}


def test_rerun_with_same_data_keeps_the_staged_file(tmp_path):
    header, rows = births(limit=3)
    data = write_rows(tmp_path / "in.csv", header, rows)
    report = staging.stage_csv(data, OutputLayout(tmp_path))
    staged = os.path.join(report.examples_dir, "data.csv")
    os.utime(staged, (1, 1))
    staging.stage_csv(data, OutputLayout(tmp_path))
    assert os.stat(staged).st_mtime == 1  # unchanged: ExampleGen's fingerprint stays valid


def test_all_rows_dropped_is_an_error(tmp_path):
    header, rows = births(limit=2)
    for row in rows:
        row[0] = "0"
    with pytest.raises(staging.NoUsableRows, match="no usable row"):
        staging.stage_csv(write_rows(tmp_path / "in.csv", header, rows), OutputLayout(tmp_path))


def test_cdc_input_format_stages_exactly_what_the_bigquery_names_stage(tmp_path):
    cdc = write_rows(tmp_path / "cdc.csv", *natality_rows("natality2014_100k.csv", every=50))
    bq = write_rows(tmp_path / "bq.csv", *natality_rows("babyweight_2014_100k.csv", every=50))
    from_cdc = staging.stage_csv(cdc, OutputLayout(tmp_path / "a"))
    from_bq = staging.stage_csv(bq, OutputLayout(tmp_path / "b"))
    assert from_cdc.input_formats == {str(cdc): "cdc"}
    assert from_bq.input_formats == {str(bq): "bigquery"}
    assert from_cdc.rows_kept == from_bq.rows_kept == 1998  # 2 of 2000 have no weight or weeks
    assert from_cdc.dropped == from_bq.dropped
    a = (tmp_path / "a" / "staged" / "examples" / "span-0" / "data.csv").read_bytes()
    assert a == (tmp_path / "b" / "staged" / "examples" / "span-0" / "data.csv").read_bytes()
    lines = staging.describe(from_cdc, cdc)
    assert "as CDC natality public-use names: dbwt grams -> pounds" in lines[0]


def test_cdc_not_stated_codes_are_missing_values(tmp_path):
    header, rows = natality_rows("natality2014_100k.csv", limit=3)
    rows[0][header.index("dbwt")] = "9999"
    rows[1][header.index("combgest")] = "99"
    report = staging.stage_csv(
        write_rows(tmp_path / "in.csv", header, rows), OutputLayout(tmp_path)
    )
    assert report.dropped == {"gestation_weeks missing": 1, "weight_pounds missing": 1}


def test_spellings_of_bigquery_pandas_r_and_people_are_read_as_one(tmp_path):
    header, rows = births(limit=8)
    spellings = [  # is_male, mother_age, plurality, gestation_weeks
        ("true", None, None, None),  # BigQuery
        ("FALSE", " 31 ", "Twins(2)", "38.0"),  # R; spaces; a label; pandas' float column
        ("t", "31.0", "2.0", None),
        ("1", None, "Multiple(2+)", None),
        ("NA", None, None, None),  # R's missing value: missing, for ExampleValidator
        ("M", None, None, None),  # M/F only in the CDC's sex column: passes through
        (None, "forty", "9", None),  # wrong values pass through, for ExampleValidator
    ]
    for row, (is_male, age, plurality, weeks) in zip(rows, spellings, strict=False):
        for column, value in ((1, is_male), (2, age), (3, plurality), (4, weeks)):
            if value is not None:
                row[column] = value
    rows[7][2] = "NA"  # a missing age: dropped like an empty one
    report = staging.stage_csv(
        write_rows(tmp_path / "in.csv", header, rows), OutputLayout(tmp_path)
    )
    got = [
        (r[F.IS_MALE], r[F.MOTHER_AGE], r[F.PLURALITY], r[F.GESTATION_WEEKS])
        for r in read(os.path.join(report.examples_dir, "data.csv"))
    ]
    original = [(r[1], r[2], r[3], r[4]) for r in births(limit=7)[1]]
    assert got == [
        ("True", original[0][1], original[0][2], original[0][3]),
        ("False", "31", "2", "38"),
        ("True", "31", "2", original[2][3]),
        ("True", original[3][1], "2", original[3][3]),
        ("", original[4][1], original[4][2], original[4][3]),
        ("M", original[5][1], original[5][2], original[5][3]),
        (original[6][0], "forty", "9", original[6][3]),
    ]
    assert report.dropped == {"mother_age missing": 1}


def test_a_utf8_bom_before_the_header_is_read(tmp_path):
    header, rows = births(limit=3)
    data = write_rows(tmp_path / "in.csv", header, rows)
    data.write_bytes(b"\xef\xbb\xbf" + data.read_bytes())
    report = staging.stage_csv(data, OutputLayout(tmp_path))
    assert report.rows_kept == 3 and report.input_formats == {str(data): "bigquery"}


def test_a_row_that_is_not_utf8_is_dropped_with_its_file_and_line(tmp_path):
    header, rows = births(limit=4)
    data = write_rows(tmp_path / "in.csv", header, rows)
    lines = data.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"Stat2Data", b"Stat2D\xe9ta")  # Latin-1, in an ignored column
    data.write_bytes(b"".join(lines))
    report = staging.stage_csv(data, OutputLayout(tmp_path))
    assert report.rows_read == 4 and report.rows_kept == 3
    assert report.dropped == {staging.NOT_UTF8: 1}
    (lost,) = read(report.dropped_file)
    assert (lost["file"], lost["line"], lost["reason"]) == (str(data), "3", "not UTF-8")
    assert lost[F.LABEL_KEY] == rows[1][0]  # the row's values, as far as they can be read
    later = read(os.path.join(report.examples_dir, "data.csv"))
    assert [r[F.LABEL_KEY] for r in later] == [rows[0][0], rows[2][0], rows[3][0]]


def test_an_unterminated_quote_that_swallows_lines_is_dropped_saying_so(tmp_path):
    header, rows = births(limit=40)
    source = header.index("source")
    rows[5][source] = '"an unclosed note'
    rows[30][source] = 'a stray quote"'
    data = tmp_path / "in.csv"
    data.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")  # quotes as typed
    report = staging.stage_csv(data, OutputLayout(tmp_path))
    reason = "unterminated quote from line 7 swallowed 25 lines"
    assert report.dropped == {reason: 1}
    assert report.rows_read == len(rows) - 25 and report.rows_kept == len(rows) - 26
    (lost,) = read(report.dropped_file)
    assert (lost["file"], lost["line"], lost["reason"]) == (str(data), "7", reason)


def test_a_header_that_is_not_utf8_is_an_error_naming_the_file(tmp_path):
    data = tmp_path / "in.csv"
    data.write_bytes(b"weight_pounds,is_m\xe4le\n7.5,True\n")
    with pytest.raises(staging.StagingError, match="in.csv: the header line is not UTF-8"):
        staging.check_headers(data)


def test_one_year_with_months_falls_back_to_the_row_key_and_fills_every_split(tmp_path):
    """The course's key on one year has 12 values: hashed into 10 buckets, a split can be left
    empty (issue 10: train=19977, eval=0, test=0). The row key gives each split its share."""
    header, rows = bigquery_export(natality_rows("babyweight_2014_100k.csv", every=20)[1])
    report = staging.stage_csv(
        write_rows(tmp_path / "in.csv", header, rows), OutputLayout(tmp_path)
    )
    assert report.split_key == splits.ROW
    assert report.split_key_reason == "only 12 distinct year-months (needs 20)"
    for split, share in {"train": 0.8, "eval": 0.1, "test": 0.1}.items():
        assert report.split_fractions[split] == pytest.approx(share, abs=0.02)


def test_year_months_that_would_split_unevenly_fall_back_to_the_row_key(tmp_path):
    """births.csv with months: 36 year-months, but hashed they give eval 15.6%: too lumpy."""
    header, rows = births()
    month = header.index("year") + 1
    header.insert(month, "month")
    for i, row in enumerate(rows):
        row.insert(month, str(i % 12 + 1))
    data = write_rows(tmp_path / "in.csv", header, rows)
    report = staging.stage_csv(data, OutputLayout(tmp_path))
    assert report.split_key == splits.ROW
    assert report.split_key_reason == (
        "the 36 year-months would split 76.1%/15.6%/8.3%, more than 3% off 80%/10%/10%"
    )
    assert sum(report.split_counts.values()) == report.rows_kept
