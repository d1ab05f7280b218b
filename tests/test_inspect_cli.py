"""`babyweight inspect`: the proposed mapping of a renamed layout reads the file as the CDC file."""

from babyweight import cli
from babyweight import mapping as M
from babyweight.errors import ExitCode
from babyweight.layout import OutputLayout
from babyweight.local import staging

from helpers import write_rows
from renamed_layouts import cdc, write_layout


def test_inspect_proposes_a_mapping_that_stages_as_the_cdc_file(tmp_path, capsys):
    header, rows = cdc(limit=2000)
    expected = staging.stage_csv(
        write_rows(tmp_path / "c.csv", header, rows), OutputLayout(tmp_path / "c")
    )
    for layout in ("r_style", "state_extract"):
        path = write_layout(tmp_path / f"{layout}.csv", layout, rows)
        assert cli.main(["inspect", str(path)]) == ExitCode.OK
        text = capsys.readouterr().out
        (tmp_path / f"{layout}.toml").write_text(text)
        mapping = M.load(tmp_path / f"{layout}.toml")
        report = staging.stage_csv(path, OutputLayout(tmp_path / layout), mapping=mapping)
        assert report.split_counts == expected.split_counts, layout
        data = OutputLayout(tmp_path / layout).staged_span(0) / "data.csv"
        assert (
            data.read_bytes()
            == (OutputLayout(tmp_path / "c").staged_span(0) / "data.csv").read_bytes()
        )
    assert "# doubt: 1 taken as male" in text and 'unit = "days"' in text


def test_inspect_exits_non_zero_and_says_what_it_did_not_find(tmp_path, capsys):
    path = write_rows(tmp_path / "x.csv", ["weight", "colour"], [["3300", "red"]] * 30)
    assert cli.main(["inspect", str(path)]) == ExitCode.USAGE
    out = capsys.readouterr().out
    assert "# [gestation_weeks] not found" in out and 'unit = "grams"' in out
