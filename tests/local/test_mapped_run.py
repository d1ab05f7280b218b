"""A user's own layout runs end to end with one mapping file and no code change: the real
pipeline (minutes) on a few hundred real rows of ../shared/data/natality in the state-extract
layout (BWT_G grams, SEX 1/2, PLUR_CD S/T, GEST_DAYS), blessed and pushed."""

import json
from pathlib import Path

from helpers import run_local_pipeline
from renamed_layouts import MAPPINGS, cdc, write_layout

EVERY = 250  # 400 of the 100,000 rows


def test_a_state_extract_runs_blesses_and_pushes_with_its_mapping(tmp_path):
    _, rows = cdc(every=EVERY)
    data = write_layout(tmp_path / "extract.csv", "state_extract", rows)
    mapping = MAPPINGS / "state_extract.toml"
    output = tmp_path / "out"
    result = run_local_pipeline(data, output, "--mapping", str(mapping))
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-4000:]}"
    assert f"as mapping {mapping}: weight_pounds <- bwt_g (grams" in result.stdout
    summary = json.loads((output / "run_summary.json").read_text())
    assert summary["blessed"] is True and Path(summary["pushed_model"]).is_dir()
    assert summary["mapping"]["file"] == str(mapping)
    assert summary["input_formats"] == {str(data): "state_extract"}
