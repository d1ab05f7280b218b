"""Staging a user's own layout through a mapping: the same rows as the CDC file, refusals."""

from babyweight import mapping as M
from babyweight.layout import OutputLayout
from babyweight.local import staging

import pytest
from helpers import write_rows
from renamed_layouts import MAPPINGS, cdc, write_layout


def staged(tmp_path, path, mapping=None) -> tuple[staging.StageReport, bytes]:
    layout = OutputLayout(tmp_path / f"out-{path.stem}")
    report = staging.stage_csv(path, layout, mapping=mapping)
    return report, (layout.staged_span(0) / "data.csv").read_bytes()


@pytest.mark.parametrize("layout", ["r_style", "state_extract"])
def test_a_renamed_layout_stages_exactly_as_the_cdc_file(tmp_path, layout):
    header, rows = cdc(limit=2000)
    expected, expected_data = staged(tmp_path, write_rows(tmp_path / "cdc.csv", header, rows))
    mapping = M.load(MAPPINGS / f"{layout}.toml")
    path = write_layout(tmp_path / f"{layout}.csv", layout, rows)
    report, data = staged(tmp_path, path, mapping)
    assert data == expected_data
    assert report.rows_kept == expected.rows_kept > 1900
    assert report.rows_read == 2000 and report.split_counts == expected.split_counts
    assert report.input_formats == {str(path): layout}
    assert report.mapping["file"] == str(MAPPINGS / f"{layout}.toml")


def test_a_value_no_code_covers_stops_staging_naming_column_value_and_count(tmp_path):
    header, rows = cdc(limit=300)
    rows[3][3] = rows[7][3] = "U"
    path = write_layout(tmp_path / "r.csv", "r_style", rows)
    with pytest.raises(M.MappingError) as e:
        staged(tmp_path, path, M.load(MAPPINGS / "r_style.toml"))
    assert "column 'sex': 'U' (2 rows)" in str(e.value)


def test_grams_declared_as_pounds_is_refused_naming_grams(tmp_path):
    header, rows = cdc(limit=300)
    text = (MAPPINGS / "r_style.toml").read_text().replace('unit = "grams"', 'unit = "pounds"')
    (tmp_path / "m.toml").write_text(text)
    path = write_layout(tmp_path / "r.csv", "r_style", rows)
    with pytest.raises(M.MappingError) as e:
        staged(tmp_path, path, M.load(tmp_path / "m.toml"))
    assert "weight looks like grams (median 3," in str(e.value)
    assert 'declare unit = "grams"' in str(e.value)
    assert not (tmp_path / "out-r" / "staged" / "examples" / "span-0" / "data.csv").exists()


def test_a_typo_in_a_column_gets_a_did_you_mean(tmp_path):
    header, rows = cdc(limit=5)
    path = write_layout(tmp_path / "r.csv", "r_style", rows)
    text = (MAPPINGS / "r_style.toml").read_text().replace('"duration"', '"duraton"')
    (tmp_path / "m.toml").write_text(text)
    with pytest.raises(M.MappingError) as e:
        staging.check_headers(path, M.load(tmp_path / "m.toml"))
    assert "no column 'duraton' for gestation_weeks (did you mean 'duration'?)" in str(e.value)
