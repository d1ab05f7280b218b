"""A user's own layout runs end to end with one mapping file and no code change: the real
pipeline (minutes), blessed and pushed, on two renamed layouts of real rows: the tiny slice of
data/births.csv (real rows of ../shared/data/natality) rewritten as an R teaching set has them
(mage, duration, weight in grams, sex M/F), and rows of ../shared/data/natality/
natality2014_100k.csv as a state extract has them (BWT_G, SEX 1/2, PLUR_CD, GEST_DAYS)."""

import json
from pathlib import Path

import pytest
from helpers import read_rows, run_local_pipeline, tiny_slice, write_rows
from renamed_layouts import MAPPINGS, cdc, r_style_from_bigquery, write_layout


def run_mapped(tmp_path: Path, data: Path, layout: str, weight_column: str) -> dict:
    """Run the real pipeline on DATA with the shipped test mapping of LAYOUT; the summary of a
    run that printed its mapping, blessed, pushed and recorded the layout."""
    mapping = MAPPINGS / f"{layout}.toml"
    output = tmp_path / "out"
    result = run_local_pipeline(data, output, "--mapping", str(mapping))
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-4000:]}"
    assert f"as mapping {mapping}: weight_pounds <- {weight_column} (grams" in result.stdout
    summary = json.loads((output / "run_summary.json").read_text())
    assert summary["blessed"] is True and Path(summary["pushed_model"]).is_dir()
    assert summary["mapping"]["file"] == str(mapping)
    assert summary["input_formats"] == {str(data): layout}
    return summary


@pytest.mark.e2e
def test_an_r_style_file_runs_blesses_and_pushes_with_its_mapping(tmp_path):
    header, rows = read_rows(tiny_slice(tmp_path / "tiny.csv"))
    data = write_rows(tmp_path / "ncbirths.csv", *r_style_from_bigquery(header, rows))
    run_mapped(tmp_path, data, "r_style", "weight")


@pytest.mark.e2e
def test_a_state_extract_runs_blesses_and_pushes_with_its_mapping(tmp_path):
    header, rows = cdc(every=10)
    data = write_layout(tmp_path / "extract.csv", "state_extract", rows)
    summary = run_mapped(tmp_path, data, "state_extract", "bwt_g")
    assert sum(summary["splits"].values()) + summary["dropped"]["total"] == len(rows) == 10_000


def test_a_mapping_the_file_does_not_fit_is_one_line_before_anything_runs(tmp_path):
    header, rows = read_rows(tiny_slice(tmp_path / "tiny.csv"))
    data = write_rows(tmp_path / "ncbirths.csv", *r_style_from_bigquery(header, rows))
    mapping = tmp_path / "m.toml"
    mapping.write_text((MAPPINGS / "r_style.toml").read_text().replace('"mage"', '"mgae"'))
    result = run_local_pipeline(data, tmp_path / "out", "--mapping", str(mapping))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "no column 'mgae' for mother_age (did you mean 'mage'?)" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["runner.log"]
