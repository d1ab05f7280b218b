"""The CSV input formats (babyweight/local/input_formats.py), told apart by their header alone,
each turning one raw row into the model's five columns as text."""

from __future__ import annotations

from babyweight import features as F
from babyweight.local import input_formats

import pytest

CDC_HEADER = ["DOB_YY", "DOB_MM", "SEX", "DBWT", "MAGER", "DPLURAL", "COMBGEST"]


def test_the_header_names_the_format_in_any_case():
    assert input_formats.detect(CDC_HEADER, "cdc.csv") is input_formats.CDC
    header = [" Weight_Pounds ", *F.REQUIRED_COLUMNS[1:], "year"]
    assert input_formats.detect(header, "bq.csv") is input_formats.BIGQUERY


def test_a_header_of_no_format_names_the_closest_and_lists_each():
    with pytest.raises(input_formats.InputFormatError) as e:
        input_formats.detect(["sex", "dbwt", "mager"], "few.csv")
    message = str(e.value)
    assert message.startswith("few.csv: missing column(s) ['dplural', 'combgest'] of the cdc ")
    for form in input_formats.INPUT_FORMATS:
        assert f"{form.name} ({', '.join(form.required)})" in message


def test_a_cdc_row_in_the_models_columns_and_units():
    names = input_formats.header_names(CDC_HEADER)
    raw = dict(zip(names, ["2014", "5", "F", "3402", "31", "2", "39"], strict=True))
    row = dict(zip(F.REQUIRED_COLUMNS, input_formats.CDC.model_row(raw), strict=True))
    assert float(row[F.LABEL_KEY]) == pytest.approx(3402 / 453.59237)
    assert row[F.IS_MALE] == "False"  # sex F
    assert (row[F.MOTHER_AGE], row[F.PLURALITY], row[F.GESTATION_WEEKS]) == ("31", "2", "39")
    assert input_formats.CDC.year_month_of(raw) == "2014-5"


def test_cdc_not_stated_codes_are_missing_and_unreadable_values_pass_as_written():
    names = input_formats.header_names(CDC_HEADER)
    raw = dict(zip(names, ["", "", "M", "9999", "forty", "1", "99"], strict=True))
    row = dict(zip(F.REQUIRED_COLUMNS, input_formats.CDC.model_row(raw), strict=True))
    assert row[F.LABEL_KEY] == "" and row[F.GESTATION_WEEKS] == ""  # staging drops the row
    assert row[F.MOTHER_AGE] == "forty"  # ExampleValidator names it
    assert input_formats.CDC.year_month_of(raw) is None
