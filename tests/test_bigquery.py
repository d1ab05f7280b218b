"""The BigQuery source, offline: the query text and the component wiring. No BigQuery service
is reached; these tests read the query and the compiled component only."""

import json

from babyweight import features as F

import pytest

from pipeline import bigquery, configs
from pipeline.pipeline import create_pipeline


def test_query_is_the_course_query():
    query = bigquery.natality_query()
    assert "FROM `bigquery-public-data.samples.natality`" in query
    for column in ["weight_pounds", "mother_age", "plurality", "gestation_weeks"]:
        assert f"{column} > 0" in query
    assert "IF(is_male, 'True', 'False') AS is_male" in query
    assert (
        "ABS(FARM_FINGERPRINT(CONCAT(CAST(year AS STRING), CAST(month AS STRING)))) AS split_key"
        in query
    )
    assert "LIMIT" not in query


def test_query_selects_exactly_the_schema_columns():
    query = bigquery.natality_query()
    select = query.split("SELECT", 1)[1].split("FROM", 1)[0]
    names = [line.strip().rstrip(",").split(" AS ")[-1] for line in select.strip().splitlines()]
    assert names == [*F.REQUIRED_COLUMNS, F.SPLIT_KEY]


def test_limit_and_table_are_options():
    query = bigquery.natality_query("p.d.t", limit=1000)
    assert "FROM `p.d.t`" in query and query.endswith("LIMIT 1000")
    with pytest.raises(ValueError, match="limit=0"):
        bigquery.natality_query(limit=0)


def test_bigquery_source_wires_the_stock_big_query_example_gen(tmp_path):
    settings = configs.PipelineSettings(
        pipeline_root=str(tmp_path),
        serving_model_dir=str(tmp_path / "serving"),
        data_source="bigquery",
    )
    pipeline = create_pipeline(settings)
    example_gen = pipeline.components[0]
    assert type(example_gen).__name__ == "BigQueryExampleGen"
    # A pipeline parameter (the KFP run form's field), whose default is the query on one line.
    parameter = example_gen.exec_properties["input_config"]
    assert parameter.name == "bigquery_input_config"
    input_config = json.loads(parameter.default)
    assert input_config["splits"][0]["pattern"] == " ".join(bigquery.natality_query().split())
    output_config = json.loads(example_gen.exec_properties["output_config"])
    assert output_config["split_config"]["partition_feature_name"] == F.SPLIT_KEY
    consumers = [c.id for c in pipeline.components if example_gen in c.upstream_nodes]
    assert {"StatisticsGen", "Transform", "Evaluator"} <= set(consumers)
