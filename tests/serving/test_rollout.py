"""Version labels: the rollout file's rules (new version -> canary, promote, rollback), how the
router splits unlabelled traffic, and version paths that must be a 4xx. No model is loaded:
the routing tests fill a real ModelRegistry with placeholder versions that are never called."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from babyweight.layout import OutputLayout, rollout_file_of
from babyweight.model_store import LoadedModel
from babyweight.serving.log import ServingLog
from babyweight.serving.registry import ModelRegistry
from babyweight.serving.requests import RequestError
from babyweight.serving.rollout import Rollout, RolloutError, RolloutFile
from babyweight.serving.routing import Router, parse_model_path, version_number

import pytest


def test_a_new_version_becomes_canary_never_stable():
    rollout = Rollout()
    assert rollout.take_new(100) == "stable"  # the first one has nothing to be compared with
    assert rollout.take_new(200) == "canary"
    assert rollout.labels() == {"stable": 100, "canary": 200}
    assert rollout.take_new(300) == "canary"  # a newer push replaces the canary
    assert rollout.take_new(150) is None  # older than a known version: not new
    assert rollout.labels() == {"stable": 100, "canary": 300}


def test_promote_then_rollback_goes_back_and_the_rolled_back_version_stays_out():
    rollout = Rollout(stable=100, canary=200)
    rollout.promote()
    assert rollout.labels() == {"stable": 200} and rollout.previous == [100]
    assert rollout.pinned() == {200, 100}  # the previous stable stays loaded for a rollback
    assert "200 to 100" in rollout.rollback()
    assert rollout.labels() == {"stable": 100} and rollout.retired == [200]
    assert rollout.take_new(200) is None  # a rolled-back version is not relabelled by itself
    with pytest.raises(RolloutError, match="no previous version"):
        rollout.rollback()
    with pytest.raises(RolloutError, match="nothing to promote"):
        rollout.promote()


def test_rollback_of_a_canary_removes_it_and_keeps_stable():
    rollout = Rollout(stable=100, canary=200)
    assert "canary 200 removed" in rollout.rollback()
    assert rollout.labels() == {"stable": 100} and rollout.retired == [200]


def test_the_rollout_file_lives_next_to_the_model_directory(tmp_path):
    layout = OutputLayout(tmp_path)
    assert layout.rollout_file == tmp_path / "serving_model" / "babyweight.rollout.json"
    assert rollout_file_of(tmp_path / "models" / "bw") == tmp_path / "models" / "bw.rollout.json"
    assert layout.rollout_file.parent == layout.serving_model_dir.parent


def test_the_file_is_changed_atomically_and_bad_files_name_the_problem(tmp_path):
    file = RolloutFile(tmp_path / "m.rollout.json")
    assert file.read() == Rollout() and file.signature() is None
    rollout, label = file.update(lambda r: r.take_new(7))
    assert label == "stable" and json.loads(file.path.read_text())["stable"] == 7
    assert file.read().labels() == {"stable": 7}
    before = file.path.read_text()
    with pytest.raises(RolloutError):
        file.update(lambda r: r.promote())  # no canary: nothing is written
    assert file.path.read_text() == before

    threads = [threading.Thread(target=file.update, args=(lambda r: r.take_new(8),))]
    threads += [threading.Thread(target=file.update, args=(lambda r: r.take_new(9),))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert file.read().canary == 9  # both changes applied under the lock, in either order

    for text, words in [
        ("{", "not JSON"),
        ('{"stable": "7"}', "stable: expected a version number"),
        ('{"canary_percent": 120}', "not within 0-100"),
        ('{"previous": [1, "x"]}', "previous"),
    ]:
        file.path.write_text(text)
        with pytest.raises(RolloutError, match=words) as e:
            file.read()
        assert str(file.path) in str(e.value)


# -- routing ----------------------------------------------------------------------------------
def placeholder(version: int) -> LoadedModel:
    return LoadedModel(path=Path(str(version)), version=str(version), signature=None)


@pytest.fixture
def router(tmp_path):
    registry = ModelRegistry(tmp_path / "babyweight")
    registry.loaded = {v: placeholder(v) for v in (100, 200)}
    file = RolloutFile(tmp_path / "babyweight.rollout.json")
    log = ServingLog(tmp_path / "log.jsonl")
    return Router(registry, file, log, model_name="babyweight", canary_percent=20)


def test_new_versions_are_labelled_and_logged(router, tmp_path):
    router.label_new_versions()  # as after a poll: both loaded, none labelled
    assert router.rollout().labels() == {"stable": 200}  # first start: the newest is stable
    router.registry.loaded = {**router.registry.loaded, 300: placeholder(300)}
    router.label_new_versions()
    assert RolloutFile(tmp_path / "babyweight.rollout.json").read().labels() == {
        "stable": 200,
        "canary": 300,
    }
    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(e["event"], e["stable"], e["canary"]) for e in events] == [
        ("rollout.canary_percent", None, None),
        ("rollout.label", 200, None),
        ("rollout.label", 200, 300),
    ]
    assert router.registry.pinned() == {200, 300}


def test_unlabelled_requests_are_split_exactly_and_keys_stick(router):
    router.file.update(lambda r: (r.take_new(100), r.take_new(200)))
    picks = [router.pick()[1] for _ in range(1000)]
    assert picks.count("canary") == 200 and picks.count("stable") == 800  # exactly 20 of 100
    by_key = {}
    for key in (f"client-{i}" for i in range(1000)):
        version = router.pick(key=key)[0].version
        assert all(router.pick(key=key)[0].version == version for _ in range(3))
        by_key[key] = version
    share = sum(v == "200" for v in by_key.values()) / len(by_key)
    assert 0.15 <= share <= 0.25, share  # 1,000 keys: within 5 points of 20 %


def test_labels_versions_and_a_changed_file_take_effect_at_once(router):
    router.file.update(lambda r: (r.take_new(100), r.take_new(200)))
    assert router.pick(label="canary")[0].version == "200"
    assert router.pick(label="stable")[0].version == "100"
    assert router.pick(version=100) == (router.registry.loaded[100], None)
    router.file.update(lambda r: r.promote())
    router.view._checked = -1.0  # as RECHECK_SECONDS later
    assert {router.pick()[0].version for _ in range(50)} == {"200"}
    with pytest.raises(RequestError, match="no version of babyweight is labelled canary") as e:
        router.pick(label="canary")
    assert e.value.status == 404
    with pytest.raises(RequestError, match="unknown version label 'beta'"):
        router.pick(label="beta")
    with pytest.raises(RequestError, match="Specific\\(babyweight, 7\\)"):
        router.pick(version=7)


def test_an_unreadable_rollout_file_keeps_the_labels_read_before(router, caplog):
    router.file.update(lambda r: r.take_new(100))
    assert router.pick()[1] == "stable"
    router.file.path.write_text("{ half a file")
    router.view._checked = -1.0
    assert router.pick() == (router.registry.loaded[100], "stable")
    assert "not JSON" in caplog.text


@pytest.mark.parametrize(
    "text, words",
    [
        ("9" * 4301, ["4301 characters", "64-bit"]),
        ("9" * 20, ["64-bit"]),
        ("9223372036854775808", ["64-bit"]),
        ("٣٩", ["whole number"]),
        ("-1", ["whole number"]),
        ("x" * 5000, ["whole number", "5000 characters"]),
    ],
)
def test_a_version_that_is_no_int64_is_a_400_naming_it(text, words):
    with pytest.raises(RequestError) as e:
        version_number(text)
    assert e.value.status == 400
    assert all(w in e.value.message for w in words), e.value.message
    assert len(e.value.message) < 200


def test_paths_by_version_and_label():
    assert version_number("0" * 5000 + "12") == 12
    assert version_number("9223372036854775807") == 2**63 - 1
    assert parse_model_path("/v1/models/babyweight/labels/canary:predict").label == "canary"
    path = parse_model_path("/v1/models/babyweight/versions/12/metadata")
    assert (path.name, path.version, path.label, path.action) == (
        "babyweight",
        "12",
        None,
        "metadata",
    )
    with pytest.raises(RequestError, match="no such endpoint") as e:
        parse_model_path("/v1/models/babyweight/labels/a/versions/1")
    assert e.value.status == 404


# -- the stable version's directory removed while a canary exists (issue 29) --------------------
def fake_version(base: Path, version: int) -> None:
    """A directory that counts as a complete version on disk (never loaded here)."""
    (base / str(version) / "variables").mkdir(parents=True)
    (base / str(version) / "saved_model.pb").write_bytes(b"x")
    (base / str(version) / "variables" / "variables.index").write_bytes(b"x")


@pytest.fixture
def served(tmp_path):
    """Versions 100 (the previous stable), 200 (stable) and 300 (canary) on disk and loaded."""
    base = tmp_path / "babyweight"
    for v in (100, 200, 300):
        fake_version(base, v)
    registry = ModelRegistry(base)
    registry.loaded = {v: placeholder(v) for v in (100, 200, 300)}
    file = RolloutFile(tmp_path / "babyweight.rollout.json")
    file.update(lambda r: (r.take_new(100), r.take_new(200), r.promote(), r.take_new(300)))
    assert file.read().labels() == {"stable": 200, "canary": 300}
    records = []
    router = Router(registry, file, ServingLog(tmp_path / "log.jsonl"), model_name="babyweight",
                    canary_percent=20, record=lambda *args: records.append(args))  # fmt: skip
    return router, base, records


def remove_version(router, base: Path, version: int) -> None:
    """The directory deleted, and the registry's next poll (which drops it from `loaded`)."""
    import shutil

    shutil.rmtree(base / str(version))
    router.registry.loaded = {v: m for v, m in router.registry.loaded.items() if v != version}


def test_stable_answers_and_is_labelled_before_the_poll_notices(served):
    router, base, _ = served
    remove_version(router, base, 200)  # the rollout file still says stable 200
    assert router.pick(label="stable") == (router.registry.loaded[100], "stable")
    assert router.labelled_version("stable") == 100
    picks = [router.pick() for _ in range(100)]
    assert {label for _, label in picks} == {"stable", "canary"}  # never None
    assert sum(label == "canary" for _, label in picks) == 20  # the canary keeps its share


def test_a_gone_stable_moves_to_the_newest_good_version_that_is_not_the_canary(
    served, tmp_path, caplog
):
    router, base, records = served
    remove_version(router, base, 200)
    router.after_refresh()

    rollout = RolloutFile(tmp_path / "babyweight.rollout.json").read()
    assert (rollout.labels(), rollout.previous) == ({"stable": 100, "canary": 300}, [])
    message = (
        "stable version 200 is gone from disk; stable moved to 100, the newest good version "
        "that is not the canary"
    )
    assert [r.getMessage() for r in caplog.records if "stable version" in r.getMessage()] == [
        message
    ]
    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "rollout.stable_gone"
    assert (events[-1]["stable"], events[-1]["canary"], events[-1]["message"]) == (
        100,
        300,
        message,
    )
    assert records == [("stable_gone", message, {"gone": 200, "stable": 100},
                        {"stable": 100, "canary": 300})]  # fmt: skip
    assert router.pick(label="stable")[0].version == "100"
    router.after_refresh()  # the next poll changes nothing more
    assert len(records) == 1


def test_with_no_other_good_version_the_canary_becomes_stable(served, tmp_path):
    router, base, records = served
    remove_version(router, base, 100)
    router.after_refresh()  # the previous stable going changes no label
    assert records == []
    remove_version(router, base, 200)
    router.after_refresh()
    assert RolloutFile(tmp_path / "babyweight.rollout.json").read().labels() == {"stable": 300}
    [(action, message, moved, labels)] = records
    assert message == (
        "stable version 200 is gone from disk; canary 300 became stable (no other good version)"
    )
    assert (moved, labels) == ({"gone": 200, "stable": 300}, {"stable": 300})
    assert router.pick() == (router.registry.loaded[300], "stable")


def test_a_stable_that_no_longer_loads_moves_on_too(served, tmp_path):
    router, base, records = served
    router.registry.failed = {200: "OSError: broken"}
    router.registry.loaded = {v: m for v, m in router.registry.loaded.items() if v != 200}
    router.after_refresh()
    assert RolloutFile(tmp_path / "babyweight.rollout.json").read().stable == 100
    assert "200 does not load" in records[0][1]
