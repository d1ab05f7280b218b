"""Reading mapping files: the built-in two, and every refusal in one line."""

from babyweight import features as F
from babyweight import mapping as M

import pytest


def test_the_built_in_mappings_agree_with_the_table_of_features():
    for name in M.BUILTIN_NAMES:
        mapping = M.builtin(name)
        for row in (F.LABEL, *F.FEATURES):
            assert mapping.fields[row.name].column == row.source(name).column
    assert M.builtin("cdc").fields[F.LABEL_KEY].per_unit == F.GRAMS_PER_POUND


def write(tmp_path, text: str):
    path = tmp_path / "m.toml"
    path.write_text(M.BUILTIN_DIR.joinpath("bigquery.toml").read_text() + text)
    return path


def refusal(tmp_path, text: str, old: str = "", new: str = "") -> str:
    path = tmp_path / "m.toml"
    base = M.BUILTIN_DIR.joinpath("bigquery.toml").read_text().replace(old, new)
    path.write_text(base + text)
    with pytest.raises(M.MappingError) as e:
        M.load(path)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_an_unknown_unit_names_the_units_allowed(tmp_path):
    why = refusal(tmp_path, "", 'unit = "pounds"', 'unit = "stone"')
    assert "unit 'stone' is not known; allowed: pounds, grams, kilograms, ounces" in why


def test_two_features_on_one_column_are_refused(tmp_path):
    why = refusal(tmp_path, "", 'column = "mother_age"', 'column = "gestation_weeks"')
    assert "column 'gestation_weeks' is mapped to mother_age and gestation_weeks" in why


def test_a_code_to_no_value_of_the_feature_is_refused(tmp_path):
    why = refusal(tmp_path, "", "[is_male]\n", '[is_male]\ncodes = { Y = "yes" }\n')
    assert "code value 'yes' of is_male is not a is_male" in why


def test_a_misspelt_feature_table_gets_a_did_you_mean(tmp_path):
    why = refusal(tmp_path, "[gestation_week]\ncolumn = 'x'\n")
    assert "'gestation_week' (did you mean 'gestation_weeks'?)" in why


def test_not_toml_and_no_file_are_one_line(tmp_path):
    assert "not TOML" in refusal(tmp_path, "[[[")
    with pytest.raises(M.MappingError, match="no such file"):
        M.load(tmp_path / "nope.toml")


def test_y_n_codes_read_as_is_male(tmp_path):
    from babyweight.local import input_formats

    path = tmp_path / "m.toml"
    path.write_text(
        M.BUILTIN_DIR.joinpath("bigquery.toml")
        .read_text()
        .replace("[is_male]\n", '[is_male]\ncodes = { Y = "True", N = "False" }\n')
    )
    form = input_formats.from_mapping(M.load(path))
    raw = {"weight_pounds": "7.5", "is_male": "y", "mother_age": "30", "plurality": "1",
           "gestation_weeks": "39"}  # fmt: skip
    assert form.model_row(raw) == ["7.5", "True", "30", "1", "39"]
