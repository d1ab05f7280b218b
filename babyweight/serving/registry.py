"""The versions being served: the newest good ones on disk and the labelled ones, loaded, kept
so by a poller."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from babyweight import model_store

log = logging.getLogger("babyweight.serving")


class ModelRegistry:
    """The newest `num_versions` good versions under `base_dir`, and the pinned ones, loaded; a
    poller keeps them so.

    A version is loaded only when its directory is complete and unchanged between two polls (a
    push in progress is not), warmed up, and then published by swapping one dict: a request picks
    its model once, so it finishes on that version even when a newer one arrives meanwhile. A
    version that fails to load is kept in `failed` (TF Serving's END state) and skipped: the
    newest good versions below it are served, at start-up as well. `pinned()` names versions to
    keep loaded whatever their age (the labelled ones); `on_refresh()` runs after every poll.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        num_versions: int = 1,
        poll_seconds: float = 1.0,
        pinned: Callable[[], set[int]] = set,
        on_refresh: Callable[[], None] = lambda: None,
    ):
        self.base_dir = Path(base_dir)
        self.num_versions = num_versions
        self.poll_seconds = poll_seconds
        self.pinned, self.on_refresh = pinned, on_refresh
        self.load = model_store.load  # path -> a loaded model (serving/loader.py's, when mounted)
        self.loaded: dict[int, model_store.LoadedModel] = {}
        self.failed: dict[int, str] = {}  # version -> why it did not load
        self._snapshots: dict[int, tuple] = {}
        self._failed_snapshots: dict[int, tuple] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def latest(self) -> model_store.LoadedModel | None:
        loaded = self.loaded
        return loaded[max(loaded)] if loaded else None

    def get(self, version: int | None) -> model_store.LoadedModel | None:
        return self.latest() if version is None else self.loaded.get(version)

    def refresh(self, *, wait_stable: bool = True) -> None:
        """Load what is new on disk, drop what is neither among the newest good num_versions
        nor pinned."""
        with self._lock:
            on_disk = model_store.versions(self.base_dir)
            pinned = self.pinned() & set(on_disk)
            # Copies, published by assignment: request threads read these without the lock.
            loaded = dict(self.loaded)
            failed = {v: why for v, why in self.failed.items() if v in on_disk}
            newest = []
            for version in reversed(on_disk):  # newest first, past the ones that fail
                if len(newest) == self.num_versions:
                    break
                if self._load(version, loaded, failed, wait_stable=wait_stable):
                    newest.append(version)
            for version in pinned:  # chosen by a person or a label: complete, load at once
                self._load(version, loaded, failed, wait_stable=False)
            keep = (set(newest) | pinned) & loaded.keys()
            if not keep and loaded:  # nothing wanted is loaded (yet): keep serving what we have
                keep = {max(loaded)}
            loaded = {v: m for v, m in loaded.items() if v in keep}
            self.failed = failed
            if loaded.keys() != self.loaded.keys():
                self.loaded = loaded  # one assignment: the swap
                log.warning("serving versions %s", sorted(loaded))
        self.on_refresh()

    def _load(self, version: int, loaded: dict, failed: dict, *, wait_stable: bool) -> bool:
        """Whether `version` is loaded (into `loaded`, or into `failed` with why not)."""
        if version in loaded:
            return True
        path = self.base_dir / str(version)
        snapshot = _snapshot(path)
        stable = self._snapshots.get(version) == snapshot
        self._snapshots[version] = snapshot
        if (wait_stable and not stable) or self._failed_snapshots.get(version) == snapshot:
            return False
        try:
            loaded[version] = self.load(path)
        except Exception as e:  # a broken push must not stop the server
            failed[version] = f"{type(e).__name__}: {e}"[:1000]
            self._failed_snapshots[version] = snapshot
            log.error("could not load version %s from %s: %s", version, path, e)
            return False
        failed.pop(version, None)
        log.warning("loaded version %s from %s", version, path)
        return True

    def start(self) -> None:
        self.refresh(wait_stable=False)
        self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:
                log.exception("polling %s failed", self.base_dir)


def _snapshot(path: Path) -> tuple:
    try:
        return tuple(
            sorted(
                (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                for p in path.rglob("*")
            )
        )
    except OSError:
        return ()
