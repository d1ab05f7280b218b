"""babyweight.gcs_paths: bucket names by GCS's naming rules, schemes TF 2.16 can write, and
kubeflow_runner.py refusing a bad one in one line (issue 29 items 2 and 11)."""

from __future__ import annotations

import re

from babyweight import gcs_paths

import pytest

import kubeflow_runner
from pipeline import configs


@pytest.mark.parametrize(
    "name, why",
    [
        ("my bucket with spaces", r"found ' '"),
        ("Upper", r"found 'U'"),
        ("-dash", "starts and ends"),
        ("ab", "3-63"),
        ("a" * 64, "3-63"),
        ("192.168.1.1", "IP address"),
        ("googbucket", "goog"),
        ("my-google-data", "google"),
    ],
)
def test_bad_bucket_names_are_named(name, why):
    assert re.search(why, gcs_paths.bucket_problem(name))


@pytest.mark.parametrize("name", ["my-bucket", "b_1.example.com", "abc", "a" * 63])
def test_good_bucket_names_pass(name):
    assert gcs_paths.bucket_problem(name) is None


def test_only_local_and_gs_paths_are_writable():
    assert gcs_paths.path_problem("/tmp/x") is None
    assert gcs_paths.path_problem("gs://my-bucket/a b/c") is None  # object names may have spaces
    assert "cannot write minio://" in gcs_paths.path_problem("minio://mlpipeline/v2/artifacts")
    assert "cannot write s3://" in gcs_paths.path_problem("s3://b/x")
    assert "bucket 'B'" in gcs_paths.path_problem("gs://B/x")


def run_compile(argv, tmp_path, monkeypatch, capsys) -> str:
    for name in configs.CLOUD_ENV.values():
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "x.json"
    assert kubeflow_runner.main([*argv, "--output", str(out)]) == 2
    assert not out.exists()
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


def test_a_bucket_with_spaces_is_refused_with_the_other_missing_settings(
    tmp_path, monkeypatch, capsys
):
    line = run_compile(["--bucket", "my bucket with spaces"], tmp_path, monkeypatch, capsys)
    assert "bucket='my bucket with spaces' (--bucket or BABYWEIGHT_GCS_BUCKET)" in line
    assert "image is not set" in line  # listed together with what is missing
    assert "gs://my bucket" not in line  # the derived paths are the bucket's one line


def test_a_minio_root_is_refused_naming_the_schemes_that_work(tmp_path, monkeypatch, capsys):
    argv = ["--target", "kfp", "--pipeline-root", "minio://x", "--project", "p", "--bucket", "b-1"]
    line = run_compile(argv, tmp_path, monkeypatch, capsys)
    assert "pipeline_root='minio://x' (--pipeline-root or BABYWEIGHT_PIPELINE_ROOT)" in line
    assert "cannot write minio://" in line and "gs://BUCKET/PATH" in line
