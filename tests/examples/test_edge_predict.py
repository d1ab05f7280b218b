"""examples/edge/predict.py: runs with the LiteRT runtime and numpy only, and answers as the
server (the SavedModel's serving_default) does.

The isolated interpreter is this Python with -S (no site-packages) and a directory holding
links to exactly ai-edge-litert and the distributions it requires (numpy, flatbuffers, ...),
found from their installed metadata: what `pip install --target DIR ai-edge-litert` puts there,
without the network. TensorFlow is asserted not importable in it.
"""

import csv
import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

import babyweight  # noqa: F401  (Keras 2 before TensorFlow)
from babyweight.edge import export, rows

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "edge" / "predict.py"
RUNTIME = "ai-edge-litert"
RUN_ISOLATED = """
import importlib.util, runpy, sys
sys.path.insert(0, sys.argv.pop(1))
assert importlib.util.find_spec("tensorflow") is None, "TensorFlow is importable"
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    assert "tensorflow" not in sys.modules, "TensorFlow was imported"
"""


def _closure(name: str) -> list[md.Distribution]:
    """`name` and every distribution it requires (no extras), recursively."""
    found, todo = {}, [name]
    while todo:
        dist = md.distribution(todo.pop())
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in found:
            continue
        found[key] = dist
        for requirement in dist.requires or []:
            if "extra ==" not in requirement and "Windows" not in requirement:
                todo.append(re.split(r"[ ;<>=!~\[(]", requirement)[0])
    return list(found.values())


def _runtime_only(target: Path) -> Path:
    """target/ with links to the runtime's distributions' top-level files and nothing else."""
    for dist in _closure(RUNTIME):
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            source = Path(dist.locate_file(top))
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)
    assert not (target / "tensorflow").exists()
    return target


@pytest.fixture(scope="module")
def isolated(tmp_path_factory) -> Path:
    return _runtime_only(tmp_path_factory.mktemp("litert_only"))


def run_example(isolated: Path, model: Path, rows_csv: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-S", "-c", RUN_ISOLATED, str(isolated), str(SCRIPT)]
    return subprocess.run(
        [*command, str(model), str(rows_csv)], capture_output=True, text=True, timeout=120
    )


def test_the_runtime_alone_has_no_tensorflow(isolated, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import numpy, ai_edge_litert.interpreter\nprint('runtime ok')\n")
    result = subprocess.run(
        [sys.executable, "-S", "-c", RUN_ISOLATED, str(isolated), str(probe)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "runtime ok"


def test_predictions_match_the_server(tiny_run, pushed_model_dir, isolated, tmp_path):
    output, _ = tiny_run
    test = rows.read_split(
        str(sorted((output / "pipeline_root" / "CsvExampleGen" / "examples").iterdir())[-1]),
        "test",
    )
    path = tmp_path / "rows.csv"
    with path.open("w", newline="") as f:  # BigQuery format, an extra column, spellings varied
        writer = csv.writer(f)
        writer.writerow(["weight_pounds", "is_male", "mother_age", "plurality", "gestation_weeks"])
        for i in range(len(test["is_male"])):
            sex = test["is_male"][i]
            writer.writerow(
                [
                    test["weight_pounds"][i],
                    sex.lower() if i % 2 else sex,
                    int(test["mother_age"][i]),
                    int(test["plurality"][i]),
                    int(test["gestation_weeks"][i]),
                ]
            )
    served = rows.saved_model_predictions(str(pushed_model_dir), test)
    for model in sorted((pushed_model_dir / "edge").glob("*.tflite")):
        result = run_example(isolated, model, path)
        assert result.returncode == 0, result.stderr[-2000:]
        predictions = np.array([float(line) for line in result.stdout.split()])
        assert len(predictions) == len(served)
        labels = test["weight_pounds"]
        gap = abs(export.rmse(predictions, labels) - export.rmse(served, labels))
        assert gap <= export.tolerance_of(model.stem, export.TOLERANCES), model.stem
        if model.stem == "float32":
            assert np.max(np.abs(predictions - served)) < 1e-3


def test_a_missing_column_is_one_line(isolated, pushed_model_dir, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("is_male,mother_age,gestation_weeks\nTrue,30,39\n")
    result = run_example(isolated, pushed_model_dir / "edge" / "float32.tflite", path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {path}: missing columns plurality"
