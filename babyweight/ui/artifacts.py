"""The artifact endpoint the KFP UI reads artifact contents from (`/artifacts/get`).

The pipeline root on disk plays the object store bucket, as MinIO plays it on a cluster: KFP's
default pipeline root is `minio://mlpipeline/v2/artifacts` (backend/src/v2/config/env.go), so a
file ROOT/X is the object `v2/artifacts/X` of bucket `mlpipeline`, and its URI as the UI sees it
is `minio://mlpipeline/v2/artifacts/X` (see `bucket_uri`). The UI asks for
`artifacts/get?source=minio&bucket=mlpipeline&key=v2/artifacts/X[&peek=N]`
(frontend/src/lib/Apis.ts buildReadFileUrl). Only files under the root are served, never a path
that leaves it (`..`, a link out), and a file over MAX_BYTES is refused unless peeked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babyweight.errors import BabyweightError

SOURCE = "minio"
BUCKET = "mlpipeline"
PREFIX = "v2/artifacts/"  # the key prefix of the cluster's default pipeline root
MAX_BYTES = 32 * 1024 * 1024
MAX_LISTED = 200  # files named when a directory is asked for


class ArtifactError(BabyweightError):
    """A request the endpoint refuses: (HTTP status, one line why); answered over HTTP, never
    an exit."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Artifact:
    body: bytes
    content_type: str


def bucket_uri(uri: str, root: Path) -> str:
    """A local artifact URI under root as the UI sees it on a cluster; any other URI unchanged."""
    try:
        rel = Path(uri).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return uri
    return f"{SOURCE}://{BUCKET}/{PREFIX}{rel.as_posix()}"


def local_path(root: Path, source: str, bucket: str, key: str) -> Path:
    """The file under root that (source, bucket, key) names; ArtifactError when it names none."""
    if source != SOURCE or bucket != BUCKET:
        raise ArtifactError(404, f"source {source}, bucket {bucket}: only {SOURCE}/{BUCKET} here")
    if not key.startswith(PREFIX) or len(key) == len(PREFIX):
        raise ArtifactError(404, f"key {key!r}: not under {PREFIX}")
    base = root.resolve()
    path = (base / key[len(PREFIX) :]).resolve()
    if path != base and base not in path.parents:
        raise ArtifactError(403, f"key {key!r}: outside the pipeline root")
    if not path.exists():
        raise ArtifactError(404, f"No objects found at {bucket}/{key}")
    return path


def listing(path: Path, base: Path) -> bytes:
    """A directory's files, one a line with its size, as the text the UI previews."""
    files = sorted(p for p in path.rglob("*") if p.is_file())
    lines = [f"{p.relative_to(base).as_posix()}\t{p.stat().st_size}" for p in files[:MAX_LISTED]]
    if len(files) > MAX_LISTED:
        lines.append(f"... and {len(files) - MAX_LISTED} more files")
    return ("\n".join(lines) + "\n").encode()


def read(
    root: Path, source: str, bucket: str, key: str, peek: int = 0, max_bytes: int = MAX_BYTES
) -> Artifact:
    """The artifact's bytes (its first `peek` bytes when peek > 0), at most max_bytes."""
    path = local_path(root, source, bucket, key)
    if path.is_dir():
        body = listing(path, path)
        return Artifact(body[:peek] if peek > 0 else body, "text/plain; charset=utf-8")
    size = path.stat().st_size
    if peek <= 0 and size > max_bytes:
        raise ArtifactError(413, f"{bucket}/{key}: {size} bytes, over the {max_bytes} served")
    with open(path, "rb") as f:
        body = f.read(min(peek, max_bytes) if peek > 0 else size)
    return Artifact(body, "application/octet-stream")
