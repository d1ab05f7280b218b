"""The serving side of the rollout file: a cached view of it (re-read when it changes, at most
RECHECK_SECONDS stale) that writes every change back and into the serving log, and the labeller
that, after each poll of the registry, moves stable off a version that is gone and labels new
versions. Router (routing.py) reads the labels; this module keeps them up to date.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from babyweight import model_store
from babyweight.serving.log import ServingLog
from babyweight.serving.registry import ModelRegistry
from babyweight.serving.rollout import Rollout, RolloutError, RolloutFile

log = logging.getLogger("babyweight.serving")

RECHECK_SECONDS = 0.1  # how stale the rollout file may be when a request is routed


class RolloutView:
    """The rollout file as the server sees it: read at most every RECHECK_SECONDS, and changed
    through change(), which logs the new labels to the serving log."""

    def __init__(self, rollout_file: RolloutFile, serving_log: ServingLog):
        self.file, self.serving_log = rollout_file, serving_log
        self._rollout, self._signature, self._checked = Rollout(), None, -1.0
        self._last_error = ""

    def current(self) -> Rollout:
        """The rollout file as it is now, at most RECHECK_SECONDS stale; an unreadable file is
        logged and the last good rollout kept."""
        now = time.monotonic()
        if now - self._checked >= RECHECK_SECONDS:
            self._checked = now
            signature = self.file.signature()
            if signature != self._signature:
                self._signature = signature
                try:
                    self._rollout = self.file.read()
                except RolloutError as e:
                    log.error("%s; keeping the labels read before", e)
        return self._rollout

    def change(self, event: str, change):
        """Apply change(rollout) to the file; log the new labels when something changed."""

        def apply(rollout: Rollout):
            before = rollout.to_json()
            return change(rollout), rollout.to_json() != before

        try:
            rollout, (result, changed) = self.file.update(apply)
        except (OSError, RolloutError) as e:  # e.g. a read-only model directory
            if str(e) != self._last_error:  # once, not on every poll
                log.error("could not update %s: %s; serving without labels", self.file.path, e)
            self._last_error = str(e)
            return None
        self._last_error = ""
        if changed:
            self.serving_log.write_event(
                f"rollout.{event}",
                by="server",
                **({"message": result} if event == "stable_gone" else {}),
                stable=rollout.stable,
                canary=rollout.canary,
                canary_percent=rollout.canary_percent,
            )
        self._rollout, self._signature = rollout, self.file.signature()
        return result


class Labeller:
    """Keeps the labels in step with the registry after every poll (registry.on_refresh)."""

    def __init__(
        self,
        view: RolloutView,
        registry: ModelRegistry,
        model_name: str,
        record: Callable[[str, str, dict, dict], None] | None = None,
    ):
        self.view, self.registry, self.model_name = view, registry, model_name
        self.record = record  # (action, message, moved versions, labels) -> ML Metadata

    def after_refresh(self) -> None:
        """After every poll of the registry: stable off a version that is gone, then labels for
        new versions."""
        self.replace_gone_stable()
        self.label_new_versions()

    def replace_gone_stable(self) -> None:
        """When the stable version's directory is gone (or it no longer loads), stable moves on
        (Rollout.replace_stable); said in the rollout file, one log line, the serving log and,
        through `record`, ML Metadata."""
        gone = self.view.current().stable
        if gone is None:
            return
        on_disk = model_store.versions(self.registry.base_dir)
        failed = self.registry.failed
        if gone in on_disk and gone not in failed:
            return
        why = "does not load" if gone in on_disk else "is gone from disk"
        good = [v for v in on_disk if v not in failed]
        message = self.view.change(
            "stable_gone", lambda r: r.replace_stable(good, why) if r.stable == gone else None
        )
        if not message:
            return
        log.warning("%s", message)
        after = self.view.current()
        if self.record is not None:
            self.record("stable_gone", message, {"gone": gone, "stable": after.stable},
                        after.labels())  # fmt: skip

    def label_new_versions(self) -> None:
        """A loaded version newer than every one the rollout knows becomes canary (stable when
        there is none); written to the rollout file and the serving log."""
        loaded = self.registry.loaded
        if not loaded:
            return
        newest = max(loaded)
        rollout = self.view.current()
        if rollout.stable is not None and not rollout.is_new(newest):
            return
        label = self.view.change("label", lambda r: r.take_new(newest))
        if label:
            log.warning("version %s of %s is labelled %s", newest, self.model_name, label)
