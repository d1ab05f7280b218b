"""babyweight.values: the spellings of booleans, sex, plurality and missing values that files
and people write (BigQuery, pandas, R), read as one."""

from babyweight.values import InvalidValue, is_missing, read_is_male, read_plurality, read_sex

import pytest


@pytest.mark.parametrize(
    "spelling, expected",
    [
        ("true", "True"),  # BigQuery
        ("True", "True"),  # pandas
        ("TRUE", "True"),  # R
        ("FALSE", "False"),
        (" t ", "True"),
        ("1", "True"),
        ("0.0", "False"),  # pandas: a 0/1 column with gaps is written as floats
        ("unknown", "Unknown"),
    ],
)
def test_booleans_as_sources_write_them(spelling, expected):
    assert read_is_male(spelling) == expected


@pytest.mark.parametrize("spelling", ["M", "male", "2", "1.5"])
def test_is_male_refuses_what_is_not_a_boolean(spelling):
    with pytest.raises(InvalidValue, match="is_male"):
        read_is_male(spelling)


def test_sex_m_and_f_only_in_the_sex_column():
    assert (read_sex("M"), read_sex(" f ")) == ("True", "False")
    with pytest.raises(InvalidValue, match=r"sex: expected M or F \(got 'U'\)"):
        read_sex("U")
    with pytest.raises(InvalidValue):
        read_sex("true")


@pytest.mark.parametrize(
    "spelling, expected",
    [("2", "Twins(2)"), (" 2.0 ", "Twins(2)"), ("twins(2)", "Twins(2)"), (3, "Triplets(3)")],
)
def test_plurality_as_a_number_or_a_label(spelling, expected):
    assert read_plurality(spelling) == expected


@pytest.mark.parametrize("spelling", ["9", "2.5", "١", "two"])
def test_wrong_plurality_is_refused(spelling):
    with pytest.raises(InvalidValue, match="plurality"):
        read_plurality(spelling)


@pytest.mark.parametrize("spelling", ["", "  ", "NA", "nan", "NULL", "None", None])
def test_missing_values_as_files_spell_them(spelling):
    assert is_missing(spelling)


@pytest.mark.parametrize("spelling", ["0", "N", "n/a?", "7.5"])
def test_values_are_not_missing(spelling):
    assert not is_missing(spelling)
