"""babyweight.ui.artifacts: the pipeline root served as the `mlpipeline` bucket, and no more."""

from __future__ import annotations

from babyweight.ui import artifacts
from babyweight.ui.artifacts import ArtifactError

import pytest


def key(rel: str) -> str:
    return artifacts.PREFIX + rel


def test_a_uri_under_the_root_is_shown_as_the_clusters_object_uri(tmp_path):
    inside = tmp_path / "babyweight" / "r" / "Trainer" / "model"
    assert artifacts.bucket_uri(str(inside), tmp_path) == (
        "minio://mlpipeline/v2/artifacts/babyweight/r/Trainer/model"
    )
    assert artifacts.bucket_uri("/elsewhere/model", tmp_path) == "/elsewhere/model"
    assert artifacts.bucket_uri("gs://b/x", tmp_path) == "gs://b/x"


def test_a_file_a_peek_and_a_directory(tmp_path):
    (tmp_path / "run" / "out").mkdir(parents=True)
    (tmp_path / "run" / "out" / "report.html").write_text("<h1>hello</h1>")
    got = artifacts.read(tmp_path, "minio", "mlpipeline", key("run/out/report.html"))
    assert got.body == b"<h1>hello</h1>"
    assert (
        artifacts.read(tmp_path, "minio", "mlpipeline", key("run/out/report.html"), 4).body
        == b"<h1>"
    )
    listing = artifacts.read(tmp_path, "minio", "mlpipeline", key("run")).body.decode()
    assert listing == "out/report.html\t14\n"


@pytest.mark.parametrize(
    "rel",
    ["../outside.txt", "run/../../outside.txt", "link/outside.txt", "escape"],
)
def test_nothing_outside_the_root_is_served(tmp_path, rel):
    root = tmp_path / "root"
    (root / "run").mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("secret")
    (root / "link").symlink_to(tmp_path)  # a link inside the root to a folder outside it
    (root / "escape").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(ArtifactError, match="outside the pipeline root") as e:
        artifacts.read(root, "minio", "mlpipeline", key(rel))
    assert e.value.status == 403


def test_other_buckets_and_keys_and_missing_files_are_404(tmp_path):
    for source, bucket, k in [
        ("gcs", "mlpipeline", key("x")),
        ("minio", "other", key("x")),
        ("minio", "mlpipeline", "x"),
        ("minio", "mlpipeline", key("x")),
    ]:
        with pytest.raises(ArtifactError) as e:
            artifacts.read(tmp_path, source, bucket, k)
        assert e.value.status == 404


def test_a_file_over_the_bound_is_refused_unless_peeked_at(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 100)
    with pytest.raises(ArtifactError, match="big: 100 bytes, over the 99 served") as e:
        artifacts.read(tmp_path, "minio", "mlpipeline", key("big"), max_bytes=99)
    assert e.value.status == 413
    assert (
        artifacts.read(tmp_path, "minio", "mlpipeline", key("big"), 10, max_bytes=99).body
        == b"x" * 10
    )
    assert (
        len(artifacts.read(tmp_path, "minio", "mlpipeline", key("big"), 500, max_bytes=99).body)
        == 99
    )
