"""Run the REST server as a person does (`python -m babyweight serve`), on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from babyweight.layout import MODEL_NAME

import httpx
from helpers import REPO

ROW = {"is_male": "True", "mother_age": 26, "plurality": "Single(1)", "gestation_weeks": 39}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_output(pushed_model_dir: Path) -> Path:
    """The run's output directory of a pushed version (OUTPUT/serving_model/NAME/VERSION)."""
    return pushed_model_dir.parents[2]


@contextlib.contextmanager
def running_server(output: Path, log_file: Path, *extra: str, timeout: float = 180):
    """Start the server on a run's output directory (it serves OUTPUT/serving_model/babyweight);
    yield its base URL.

    `log_file` receives the server's stdout and stderr (kept for failure messages)."""
    port = free_port()
    cmd = [sys.executable, "-m", "babyweight", "serve", "--output", str(output)]
    cmd += ["--port", str(port), *extra]
    with open(log_file, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env={**os.environ}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, f"server exited:\n{Path(log_file).read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"no answer:\n{Path(log_file).read_text()[-4000:]}"
            try:
                if httpx.get(f"{url}/v1/models/{MODEL_NAME}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def push_copy(source: Path, base: Path, version: int) -> Path:
    """Push a copy of the SavedModel `source` as `base/version`, as a Pusher does: copy to a
    staging directory beside it, then rename into place."""
    base.mkdir(parents=True, exist_ok=True)
    staging = base.parent / f".staging-{version}"
    shutil.copytree(source, staging)
    return staging.rename(base / str(version))


def in_process_predictions(version_dir: Path, rows: list[dict]) -> list[float]:
    """The pushed model's serving_default on canonical `rows` ("True", "Single(1)", ...), called
    in this process with tensors built here, without the server or babyweight.instances."""
    from babyweight import features as F

    import tensorflow as tf

    predict = tf.saved_model.load(str(version_dir)).signatures[F.RAW_SIGNATURE]
    inputs = {f.name: tf.constant([row[f.name] for row in rows], f.dtype) for f in F.FEATURES}
    return [float(x) for x in predict(**inputs)[F.PREDICTION_KEY].numpy()]
