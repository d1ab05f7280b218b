"""babyweight/metadata/edge.py: the variant table and the gate's lines, from edge_report.json."""

from babyweight.metadata import edge

REPORT = {
    "saved_model_rmse": 1.0,
    "test_rows": 100,
    "variants": {
        "float32": {
            "size_bytes": 26_624,
            "rmse": 1.0,
            "max_abs_diff": 0.00001,
            "latency_ms_per_row": 0.01,
            "tolerance": 0.005,
            "passed": True,
        },
        "int8": {
            "size_bytes": 18_432,
            "rmse": 1.2,
            "max_abs_diff": 1.5,
            "latency_ms_per_row": 0.02,
            "tolerance": 0.05,
            "passed": False,
        },
    },
}


def test_a_failing_variant_is_named_with_its_numbers():
    assert edge.passing(REPORT) == ["float32"]
    assert edge.failure_lines(REPORT) == [
        "edge variant int8 not pushed: test RMSE 1.2000 lb vs the SavedModel's 1.0000 lb "
        "(difference 0.2000 > tolerance 0.05 lb)"
    ]


def test_the_summary_lines_hold_the_table_and_what_was_pushed():
    lines = edge.table_lines({**REPORT, "pushed": ["float32"]})
    assert lines[0].startswith("edge (TFLite) variants, SavedModel test RMSE 1.0000 lb on 100")
    assert lines[2].split() == ["float32", "26.0", "1.0000", "0.0000", "0.010", "pass"]
    assert lines[3].split()[:5] == ["int8", "18.0", "1.2000", "1.5000", "0.020"]
    assert lines[4] == "edge variants pushed: float32"
    assert lines[5].startswith("edge variant int8 not pushed")
    assert edge.table_lines({}) == []
    assert edge.table_lines({"skipped": "the model is not blessed"}) == [
        "edge: nothing exported (the model is not blessed)"
    ]


def test_markdown_table_has_one_row_per_variant():
    table = edge.markdown_table(REPORT).splitlines()
    assert table[2].startswith("| variant | size (KB) |")
    assert table[4].startswith("| float32 | 26.0 | 1.0000 |")
    assert table[5].endswith("| FAIL (tolerance 0.05 lb) |")
