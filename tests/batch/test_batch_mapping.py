"""batch-predict --mapping: a user's own layout is read as the CDC file of the same rows, and
its columns are checked by the mapping's names before the job starts."""

import argparse

from babyweight import mapping as M
from babyweight.batch import cli as batch_cli
from babyweight.batch import io as batch_io
from babyweight.batch import predict as batch_predict
from babyweight.errors import UsageError

import pytest
from helpers import write_rows
from renamed_layouts import MAPPINGS, cdc, write_layout


def test_a_state_extract_is_read_by_its_mapping_as_the_cdc_file_is(tmp_path):
    header, rows = cdc(limit=400)
    rows[5][3] = "U"  # a sex no code covers: dead-lettered by name, as the server would say
    extract = write_layout(tmp_path / "extract.csv", "state_extract", rows)
    total, dead = batch_predict.dead_letter_rows(
        batch_io.make_source(str(extract)), mapping=M.load(MAPPINGS / "state_extract.toml")
    )
    cdc_file = write_rows(tmp_path / "cdc.csv", header, rows)
    cdc_total, cdc_dead = batch_predict.dead_letter_rows(
        batch_io.make_source(str(cdc_file)), mapping=M.builtin("cdc")
    )
    assert total == cdc_total == 400
    assert sorted((d["field"], d["reason"]) for d in dead) == sorted(
        (d["field"], d["reason"]) for d in cdc_dead
    )
    assert ("is_male", "is_male: expected True, False or Unknown (also true/false, 1/0)") in {
        (d["field"], d["reason"]) for d in dead
    }


def test_columns_are_checked_by_the_mappings_names(tmp_path):
    _, rows = cdc(limit=5)
    extract = write_layout(tmp_path / "extract.csv", "state_extract", rows)
    args = argparse.Namespace(input=str(extract), key_column=None)
    args.mapping_read = M.load(MAPPINGS / "state_extract.toml")
    batch_cli.check_columns(batch_io.make_source(str(extract)), args)  # fits
    args.mapping_read = M.load(MAPPINGS / "r_style.toml")
    with pytest.raises(UsageError, match="no column mage, plural, duration in"):
        batch_cli.check_columns(batch_io.make_source(str(extract)), args)
