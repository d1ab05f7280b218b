"""babyweight.ui.build (`make ui`): the pinned tag only; the placeholder dropped from both files."""

from __future__ import annotations

import json
import subprocess

from babyweight.errors import BabyweightError
from babyweight.ui import build

import pytest


def test_the_fs_placeholder_leaves_package_json_and_the_lock_together(tmp_path):
    package = {"name": "f", "devDependencies": {"fs": "0.0.1-security", "vite": "^8"}}
    lock = {
        "packages": {
            "": {"devDependencies": dict(package["devDependencies"])},
            "node_modules/fs": {"version": "0.0.1-security"},
            "node_modules/fs.realpath": {"version": "1.0.0"},
        }
    }
    (tmp_path / "package.json").write_text(json.dumps(package))
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    assert build.drop_placeholders(tmp_path) == ["fs"]
    package = json.loads((tmp_path / "package.json").read_text())
    lock = json.loads((tmp_path / "package-lock.json").read_text())
    assert package["devDependencies"] == {"vite": "^8"}
    assert lock["packages"][""]["devDependencies"] == {"vite": "^8"}
    assert set(lock["packages"]) == {"", "node_modules/fs.realpath"}


def git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def test_only_the_pinned_tag_at_its_commit_is_built(tmp_path):
    with pytest.raises(BabyweightError, match="KFP_SRC .*none: no such directory"):
        build.build(tmp_path / "none", tmp_path / "out")
    src = tmp_path / "pipelines"
    (src / "frontend").mkdir(parents=True)
    (src / "frontend" / "package.json").write_text("{}")
    git(src, "init", "-q")
    git(src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x", "--allow-empty")
    with pytest.raises(BabyweightError, match=f"has no tag {build.KFP_TAG}"):
        build.build(src, tmp_path / "out")
    git(src, "tag", build.KFP_TAG)
    with pytest.raises(
        BabyweightError, match=f"tag {build.KFP_TAG} is [0-9a-f]{{40}}, expected {build.KFP_COMMIT}"
    ):
        build.build(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
