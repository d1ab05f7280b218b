"""Staging .csv.gz, Parquet and Avro: the same rows as the CSV give the same staged examples
and splits; a corrupt, truncated or wrong-typed file is one line and nothing is staged.

The rows are real: ../shared/data/natality/babyweight_2014_100k.csv (BigQuery's names), written
as BigQuery exports them (BOOL, INT64, FLOAT64, NULL) with pyarrow and fastavro
(tests/bigquery_exports.py)."""

import gzip

from babyweight import mapping as M
from babyweight.layout import OutputLayout
from babyweight.local import staging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bigquery_exports import COLUMNS, TYPES, real_rows, typed, write_avro, write_parquet
from helpers import write_rows


def staged(tmp_path, path, mapping=None):
    layout = OutputLayout(tmp_path / f"out-{path.name}")
    report = staging.stage_csv(path, layout, mapping=mapping)
    return report, (layout.staged_span(0) / "data.csv").read_bytes()


def test_parquet_avro_and_gzip_exports_stage_as_the_csv(tmp_path):
    rows = real_rows()
    expected, data = staged(tmp_path, write_rows(tmp_path / "rows.csv", COLUMNS, rows))
    gz = tmp_path / "rows.csv.gz"
    gz.write_bytes(gzip.compress((tmp_path / "rows.csv").read_bytes()))
    for path in (
        write_parquet(tmp_path / "rows.parquet", rows),
        write_avro(tmp_path / "rows.avro", rows),
        gz,
    ):
        report, got = staged(tmp_path, path)
        assert got == data, path.name
        assert report.split_counts == expected.split_counts and report.dropped == expected.dropped
        assert report.rows_read == len(rows) and report.input_formats == {str(path): "bigquery"}
    assert expected.rows_kept > 1400


def refused(tmp_path, path, mapping=None) -> str:
    with pytest.raises((staging.StagingError, M.MappingError, ValueError)) as e:
        staging.stage_csv(path, OutputLayout(tmp_path / "out"), mapping=mapping)
    assert not (tmp_path / "out" / "staged" / "examples" / "span-0" / "data.csv").exists()
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_parquet_column_of_the_wrong_type_is_named(tmp_path):
    types = [pa.string(), *TYPES[1:]]
    path = tmp_path / "s.parquet"
    records = typed(real_rows(50))
    arrays = [pa.array([str(r["weight_pounds"]) for r in records], pa.string())]
    arrays += [
        pa.array([r[c] for r in records], t) for c, t in zip(COLUMNS[1:], types[1:], strict=True)
    ]
    pq.write_table(pa.table(dict(zip(COLUMNS, arrays, strict=True))), path)
    why = refused(tmp_path, path)
    assert "column 'weight_pounds' (weight_pounds) is of type string; it must be a number" in why


def test_a_corrupt_parquet_footer_is_one_line(tmp_path):
    path = write_parquet(tmp_path / "c.parquet", real_rows(50))
    path.write_bytes(path.read_bytes()[:-12] + b"\0" * 8 + b"PAR1")
    assert "not a readable Parquet file" in refused(tmp_path, path)


def test_an_avro_schema_without_a_mapped_column_is_named(tmp_path):
    path = write_avro(tmp_path / "a.avro", real_rows(50), [c for c in COLUMNS if c != "plurality"])
    assert "missing column(s) ['plurality']" in refused(tmp_path, path)
    mapping = M.builtin("bigquery")
    assert "no column 'plurality' for plurality" in refused(tmp_path, path, mapping)


def test_a_truncated_csv_gz_is_one_line(tmp_path):
    path = tmp_path / "t.csv.gz"
    body = gzip.compress(write_rows(tmp_path / "t.csv", COLUMNS, real_rows(800)).read_bytes())
    path.write_bytes(body[: len(body) // 2])
    assert "a truncated or corrupt gzip file" in refused(tmp_path, path)


def bad_inputs(tmp_path) -> dict[str, tuple]:
    """Each bad input of issue 26: (--data, --mapping or None, what its one line says)."""
    wrong = tmp_path / "s.parquet"
    records = typed(real_rows(50))
    columns = {"weight_pounds": pa.array([str(r["weight_pounds"]) for r in records])}
    typed_columns = zip(COLUMNS[1:], TYPES[1:], strict=True)
    columns |= {c: pa.array([r[c] for r in records], t) for c, t in typed_columns}
    pq.write_table(pa.table({c: columns[c] for c in COLUMNS}), wrong)
    corrupt = write_parquet(tmp_path / "c.parquet", real_rows(50))
    corrupt.write_bytes(corrupt.read_bytes()[:-12] + b"\0" * 8 + b"PAR1")
    avro = write_avro(tmp_path / "a.avro", real_rows(50), [c for c in COLUMNS if c != "plurality"])
    gz = tmp_path / "t.csv.gz"
    body = gzip.compress(write_rows(tmp_path / "t.csv", COLUMNS, real_rows(800)).read_bytes())
    gz.write_bytes(body[: len(body) // 2])
    two = tmp_path / "two.toml"
    text = M.BUILTIN_DIR.joinpath("bigquery.toml").read_text()
    two.write_text(text.replace('column = "mother_age"', 'column = "gestation_weeks"'))
    return {
        "wrong type": (wrong, None, "is of type string; it must be a number"),
        "corrupt footer": (corrupt, None, "not a readable Parquet file"),
        "avro without a column": (avro, None, "missing column(s) ['plurality']"),
        "truncated gzip": (gz, None, "a truncated or corrupt gzip file"),
        "two features on one column": (gz, two, "is mapped to mother_age and gestation_weeks"),
    }


def test_the_runner_stops_on_each_bad_input_in_one_line_before_anything_runs(tmp_path, capfd):
    from babyweight.errors import ExitCode
    from babyweight.local import cli

    for name, (data, mapping, says) in bad_inputs(tmp_path).items():
        output = tmp_path / f"out-{name.replace(' ', '-')}"
        argv = ["--data", str(data), "--output", str(output)]
        argv += ["--mapping", str(mapping)] if mapping else []
        assert cli.main(argv) == ExitCode.USAGE, name
        err = capfd.readouterr().err
        assert len(err.splitlines()) == 1 and says in err, (name, err)
        written = (
            {p.relative_to(output).parts[0] for p in output.rglob("*")}
            if output.exists()
            else set()
        )
        assert written <= {".run.lock", "logs", "staged"}, (name, written)  # no MLMD, no pipeline
        assert not list(output.glob("staged/examples/*/*")), name  # nothing staged
