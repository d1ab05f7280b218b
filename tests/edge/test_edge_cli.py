"""babyweight/edge/cli.py: `babyweight edge-predict` on a CSV, beside the SavedModel's answers."""

import babyweight  # noqa: F401  (Keras 2 before TensorFlow)
from babyweight.cli import main as babyweight_main
from babyweight.edge import cli

import pytest

ROWS = (
    "weight_pounds,is_male,mother_age,plurality,gestation_weeks,extra\n"
    "7.5,True,25,1,39,x\n6.1,false,31,Twins(2),37,y\n5.0,Unknown,40,2,35,z\n"
)


def test_parity_with_the_saved_model(pushed_model_dir, tmp_path, capsys):
    path = tmp_path / "rows.csv"
    path.write_text(ROWS)
    model = pushed_model_dir / "edge" / "float32.tflite"
    assert cli.main(["--model", str(model), "--input", str(path)]) == 0
    alone = [float(v) for v in capsys.readouterr().out.split()]
    argv = ["--model", str(model), "--input", str(path), "--saved-model", str(pushed_model_dir)]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "edge,saved_model" and len(lines) == 4
    pairs = [tuple(map(float, line.split(","))) for line in lines[1:]]
    assert [e for e, _ in pairs] == pytest.approx(alone, abs=1e-4)
    assert all(abs(e - s) < 1e-3 for e, s in pairs)  # float32: the server's numbers
    assert "3 rows; largest |edge - saved_model|" in err and "RMSE edge" in err


def test_a_bad_value_is_one_line_naming_file_line_and_field(tmp_path, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"not read before the rows")
    path = tmp_path / "rows.csv"
    path.write_text("is_male,mother_age,plurality,gestation_weeks\nTrue,30,1,39\nmaybe,30,1,39\n")
    code = babyweight_main(["edge-predict", "--model", str(model), "--input", str(path)])
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"babyweight edge-predict: {path} line 3: is_male: expected True")


def test_missing_columns_and_files_are_named(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    path.write_text("is_male,mother_age\nTrue,30\n")
    model = tmp_path / "m.tflite"
    assert babyweight_main(["edge-predict", "--model", str(model), "--input", str(path)]) == 2
    assert f"--model {model}: no such file" in capsys.readouterr().err
    model.write_bytes(b"x")
    assert babyweight_main(["edge-predict", "--model", str(model), "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: missing columns plurality, gestation_weeks" in err
