"""A made-up fifth feature, added to the table of features and nowhere else, reaches every reader,
form and document: the request parser, the web form, the OpenAPI document, batch input and
output, and the serving log.

The fixture extends babyweight.features.FEATURES (and FEATURE_KEYS, its names) for one test;
nothing else is patched or reloaded, so a consumer that restates the features instead of looping
over the table fails here. Two features are tried: a number and a category."""

from __future__ import annotations

import json

from babyweight import features as F
from babyweight.batch import batches, io
from babyweight.instances import parse_instance
from babyweight.monitoring.serving_log import SkewInputError, read_serving_log
from babyweight.serving import openapi, page
from babyweight.serving.log import ServingLog
from babyweight.serving.requests import RequestError, parse_predict_request
from babyweight.serving_log import read_records

import jsonschema
import pyarrow as pa
import pytest
from helpers import FATHER_AGE

DELIVERY = F.Feature(
    name="delivery",
    kind=F.CATEGORICAL,
    dtype="string",
    bigquery_type="STRING",
    label="Delivery",
    description="how the baby is to be born",
    sources={F.BIGQUERY_FORMAT: F.Source("delivery"), F.CDC_FORMAT: F.Source("dmeth_rec")},
    example="Vaginal",
    domain=("Vaginal", "Cesarean", F.UNKNOWN),
    spellings={"vaginal": "Vaginal", "1": "Vaginal", "cesarean": "Cesarean", "2": "Cesarean"},
    expected="expected Vaginal, Cesarean or Unknown",
    choices={"Vaginal": "Vaginal", "Cesarean": "Caesarean section", F.UNKNOWN: "Not known"},
)
# A value of each as a person sends it, its canonical form, and a value that is wrong.
SENT = {"father_age": ("41", 41, 200), "delivery": ("cesarean", "Cesarean", "by air")}
ROW = {F.IS_MALE: "True", F.MOTHER_AGE: 26, F.PLURALITY: "Single(1)", F.GESTATION_WEEKS: 39}


@pytest.fixture(params=[FATHER_AGE, DELIVERY], ids=lambda f: f.name)
def fifth(request, monkeypatch):
    table = (*F.FEATURES, request.param)
    monkeypatch.setattr(F, "FEATURES", table)
    monkeypatch.setattr(F, "FEATURE_KEYS", F.names(table))
    return request.param


def test_the_request_parser_reads_it_in_rows_and_columns(fifth):
    sent, canonical, wrong = SENT[fifth.name]
    [row], columnar = parse_predict_request({"instances": [{**ROW, fifth.name: sent}]})
    assert row[fifth.name] == canonical and not columnar
    columns = {k: [v] for k, v in {**ROW, fifth.name: sent}.items()}
    assert parse_predict_request({"inputs": columns})[0][0][fifth.name] == canonical
    with pytest.raises(RequestError, match=rf"instances\[0\]\.{fifth.name}: missing"):
        parse_predict_request({"instances": [ROW]})
    with pytest.raises(RequestError, match=rf"instances\[0\]\.{fifth.name}: .*{wrong}"):
        parse_predict_request({"instances": [{**ROW, fifth.name: wrong}]})
    with pytest.raises(RequestError, match=rf"inputs\.{fifth.name}: missing"):
        parse_predict_request({"inputs": {k: [v] for k, v in ROW.items()}})


def test_the_web_form_shows_it(fifth):
    html = page.render({}, {fifth.name: f"{fifth.label}: wrong"}, None, "babyweight", "1")
    assert f'<label for="{fifth.name}">{fifth.label}' in html.replace("&#39;", "'")
    assert f'id="{fifth.name}-error"' in html
    if fifth.categorical:
        for value in fifth.domain:
            assert f'<option value="{value}"' in html
        assert f'value="{fifth.example}" selected' in html
    else:
        lo, hi = fifth.domain
        assert f'min="{lo}" max="{hi}"' in html and fifth.unit in html


def test_the_openapi_document_describes_it(fifth):
    sent, canonical, wrong = SENT[fifth.name]
    document = openapi.openapi_document("babyweight", 1 << 20)
    instance = document["components"]["schemas"]["Instance"]
    assert fifth.name in instance["required"]
    body = document["paths"]["/v1/models/babyweight:predict"]["post"]["requestBody"]
    columnar = body["content"]["application/json"]["schema"]["oneOf"][1]
    assert fifth.name in columnar["properties"]["inputs"]["required"]
    # What the document says is what the parser does: the same rows pass or fail both.
    jsonschema.validate({**ROW, fifth.name: canonical}, instance)
    jsonschema.validate({**ROW, fifth.name: fifth.example}, instance)
    for bad in (ROW, {**ROW, fifth.name: wrong}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, instance)


def test_batch_input_and_output_carry_it(fifth):
    sent, canonical, wrong = SENT[fifth.name]
    good = {**{k: str(v) for k, v in ROW.items()}, fifth.name: sent}
    records = [good, {**good, fifth.name: str(wrong)}, {k: v for k, v in good.items()}]
    del records[2][fifth.name]
    # CSV columns come as pyarrow string arrays; JSONL records as parsed dicts.
    columns = {name: pa.array([r.get(name) for r in records]) for name in good}
    csv_batch = batches.RecordBatch(columns, len(records))
    jsonl = [json.dumps(r).encode() for r in records]
    for batch in (csv_batch, io.parse_records(jsonl, io.parse_json_line)):
        valid, dead = batches.check(batch, None)
        [row] = valid.rows()
        assert row[fifth.name] == canonical
        assert [d["field"] for d in dead] == [fifth.name, fifth.name]
        assert "missing" in dead[1]["reason"]
    assert fifth.name in io.prediction_columns(None)
    types = {
        f["name"]: f["type"] for f in io.bigquery_schema(io.prediction_columns(None))["fields"]
    }
    assert types[fifth.name] == fifth.bigquery_type


def test_the_serving_log_writes_and_reads_it(fifth, tmp_path):
    sent, canonical, _ = SENT[fifth.name]
    path = tmp_path / "serving_log.jsonl"
    instance = parse_instance({**ROW, fifth.name: sent})
    ServingLog(path).write("1700000000", [instance], [7.5], label="stable")
    [record] = list(read_records(path))
    assert record["features"][fifth.name] == canonical
    log = read_serving_log(path)
    assert log.rows[0][fifth.name] == fifth.training_value(canonical)
    del record["features"][fifth.name]
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(SkewInputError, match=rf"features: missing {fifth.name}"):
        read_serving_log(path)
