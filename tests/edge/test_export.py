"""babyweight/edge/export.py and the pipeline's EdgeExport/Pusher: variants measured, gated,
and only the passing ones pushed; the pushed files run on ai-edge-litert without TensorFlow."""

import json
import subprocess
import sys
from pathlib import Path

import babyweight  # noqa: F401  (Keras 2 before TensorFlow)
from babyweight import features as F
from babyweight.edge import convert, export, rows
from babyweight.edge import interpreter as lite
from babyweight.metadata import edge as edge_lib

import numpy as np
from edge_run import examples, transform_graph


def test_the_run_summary_lists_every_variant(tiny_run):
    _, summary = tiny_run
    edge = summary["edge"]
    assert set(edge["variants"]) == set(convert.VARIANTS)
    for name, v in edge["variants"].items():
        assert v["size_bytes"] > 1000 and v["latency_ms_per_row"] > 0, name
        gap = abs(v["rmse"] - edge["saved_model_rmse"])
        assert v["passed"] == (gap <= v["tolerance"]), name
    assert edge["variants"]["float32"]["max_abs_diff"] < 1e-3  # the same numbers, in TFLite
    assert sorted(edge["pushed"]) == sorted(edge_lib.passing(edge))
    assert edge["variants"]["float32"]["tolerance"] == export.TOLERANCES["float"]
    assert edge["variants"]["int8"]["tolerance"] == export.TOLERANCES["int8"]


def test_only_passing_variants_are_pushed_beside_the_savedmodel(tiny_run, pushed_model_dir):
    _, summary = tiny_run
    pushed = sorted(p.stem for p in (pushed_model_dir / "edge").glob("*.tflite"))
    assert pushed == sorted(edge_lib.passing(summary["edge"]))
    assert "float32" in pushed
    codes = json.loads((pushed_model_dir / "edge" / "codes.json").read_text())
    assert codes["codes"][F.IS_MALE] == {"False": 0, "True": 1, "Unknown": 2}
    assert (pushed_model_dir / "saved_model.pb").exists()


def test_pushed_variants_match_the_savedmodel_on_the_test_split(tiny_run, pushed_model_dir):
    output, summary = tiny_run
    test = rows.read_split(str(examples(output)), "test")
    codes_doc = json.loads((pushed_model_dir / "edge" / "codes.json").read_text())
    sex = codes_doc["codes"][F.IS_MALE]
    codes = {
        F.IS_MALE: np.array(
            [sex[F.IS_MALE_SPELLINGS[v.lower()]] for v in test[F.IS_MALE]], np.int32
        ),
        F.MOTHER_AGE: test[F.MOTHER_AGE].astype(np.float32),
        F.PLURALITY: (test[F.PLURALITY] - 1).astype(np.int32),
        F.GESTATION_WEEKS: test[F.GESTATION_WEEKS].astype(np.float32),
    }
    served = rows.saved_model_predictions(str(pushed_model_dir), test)
    base = export.rmse(served, test[F.LABEL_KEY])
    for path in (pushed_model_dir / "edge").glob("*.tflite"):
        predictions = lite.predict(path.read_bytes(), codes)
        tolerance = export.tolerance_of(path.stem, export.TOLERANCES)
        assert abs(export.rmse(predictions, test[F.LABEL_KEY]) - base) <= tolerance, path.stem


LOAD_WITHOUT_TF = """
import sys
from ai_edge_litert.interpreter import Interpreter
import numpy as np
for path in sys.argv[1:]:
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    out = runner(is_male=np.array([1, 2], np.int32), mother_age=np.array([25, 35], np.float32),
                 plurality=np.array([0, 5], np.int32),
                 gestation_weeks=np.array([39, 36], np.float32))
    print(path, out["predicted_weight_pounds"].tolist())
assert "tensorflow" not in sys.modules, "TensorFlow was imported"
"""


def test_pushed_files_load_in_litert_without_tensorflow(pushed_model_dir):
    files = sorted(str(p) for p in (pushed_model_dir / "edge").glob("*.tflite"))
    result = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_TF, *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for line in result.stdout.splitlines():
        weights = json.loads(line.split(" ", 1)[1])
        assert all(1.0 < w < 15.0 for w in weights), line


def test_a_variant_outside_its_tolerance_is_named_and_not_counted(tiny_run, tmp_path):
    output, summary = tiny_run
    report = export.export(
        summary["pushed_model"],
        str(transform_graph(output)),
        str(examples(output)),
        str(tmp_path / "edge"),
        tolerances={"float": 0.0},
        variants=("dynamic_range",),
    )
    variant = report["variants"]["dynamic_range"]
    assert variant["rmse"] != report["saved_model_rmse"]  # int8 weights change the answers
    assert not variant["passed"] and edge_lib.passing(report) == []
    (line,) = edge_lib.failure_lines(report)
    assert line.startswith("edge variant dynamic_range not pushed: test RMSE ")
    assert f"{variant['rmse']:.4f}" in line and "tolerance 0.0 lb" in line
    assert json.loads(Path(tmp_path / "edge" / "edge_report.json").read_text()) == report


def test_the_export_is_recorded_in_mlmd_with_lineage_to_its_model(tiny_run):
    from babyweight.metadata import store as mlmd

    output, summary = tiny_run
    store = mlmd.open_store(output / "metadata.sqlite", readonly=True)
    nodes = mlmd.run_nodes(store, summary["run_id"])
    export_node = nodes["EdgeExport"]
    assert export_node.state == "COMPLETE"
    (model,) = export_node.inputs["model"]
    assert model.id == nodes["Trainer"].outputs["model"][0].id
    assert export_node.inputs["transform_graph"][0].id == (
        nodes["Transform"].outputs["transform_graph"][0].id
    )
    (edge_model,) = export_node.outputs["edge_model"]
    assert [a.id for a in nodes["Pusher"].inputs["edge_model"]] == [edge_model.id]
    passed = mlmd.custom_property(edge_model, "passed_variants").split(",")
    assert sorted(passed) == sorted(edge_lib.passing(summary["edge"]))
    (pushed,) = nodes["Pusher"].outputs["pushed_model"]
    assert mlmd.custom_property(pushed, "edge_variants").split(",") == passed
