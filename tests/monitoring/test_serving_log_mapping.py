"""skew --mapping: a serving log whose features are in a user's own layout reads, by its
mapping, into the same rows as the log of the model's own names."""

import json

from babyweight import mapping as M
from babyweight.monitoring.serving_log import read_serving_log

from renamed_layouts import MAPPINGS, cdc, state_extract


def write_log(path, rows: list[dict]):
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps({"features": row, "model_version": "1"}) + "\n")
    return path


def test_a_state_extract_log_reads_as_the_model_named_log(tmp_path):
    _, rows = cdc(limit=300)
    rows = [r for r in rows if "" not in r and r[2] != "9999" and r[1] != "99"]
    header, extract = state_extract(rows)
    own = write_log(tmp_path / "own.jsonl", [dict(zip(header, r, strict=True)) for r in extract])
    named = [
        {"is_male": sex == "M", "mother_age": int(mager), "plurality": int(plural),
         "gestation_weeks": int(weeks)}
        for mager, weeks, _, sex, plural in rows
    ]  # fmt: skip
    model_log = write_log(tmp_path / "named.jsonl", named)
    mapped = read_serving_log(own, M.load(MAPPINGS / "state_extract.toml"))
    assert mapped.rows == read_serving_log(model_log).rows and len(mapped.rows) > 250
