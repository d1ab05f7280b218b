"""Paths the pipeline writes on a cluster: GCS bucket names by GCS's naming rules, and the
schemes that TensorFlow 2.16 in the pipeline image can write.

Pure functions: each returns the problem in words, or None. pipeline/configs.py calls
`problems()` once, so that every bad path setting is one line among the other settings' lines.

GCS bucket naming (cloud.google.com/storage/docs/buckets#naming): lowercase letters, digits,
dashes, underscores and dots only (no spaces); start and end with a letter or digit; 3-63
characters, or up to 222 with dots where each dot-separated part is at most 63; not an IP
address in dotted-decimal form; not starting with "goog" and not containing "google".

Schemes: TF 2.16 reads and writes local paths and gs:// (its built-in GCS filesystem). It has no
minio:// filesystem at all, and s3:// only through the tensorflow-io plugin, which the image
(tensorflow/tfx:1.16.0 + our Dockerfile) does not install. KFP's cluster default root is
minio://mlpipeline/v2/artifacts, so a KFP admin must point the root at a gs:// bucket.
"""

from __future__ import annotations

import re

WRITABLE_SCHEMES = ("gs://",)  # and local paths
_BUCKET_CHARS = re.compile(r"[a-z0-9._-]+")
_IP = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


def bucket_problem(name: str) -> str | None:
    """Why `name` is not a valid GCS bucket name, or None."""
    if not _BUCKET_CHARS.fullmatch(name or ""):
        bad = sorted({c for c in name if not _BUCKET_CHARS.fullmatch(c)}) if name else []
        shown = ", ".join(repr(c) for c in bad) or "nothing"
        return (
            f"a bucket name holds only lowercase letters, digits, '-', '_' and '.' (found {shown})"
        )
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "a bucket name starts and ends with a letter or digit"
    limit = 222 if "." in name else 63
    if not 3 <= len(name) <= limit or any(len(part) > 63 for part in name.split(".")):
        return "a bucket name has 3-63 characters (up to 222 with dots, 63 between dots)"
    if _IP.fullmatch(name):
        return "a bucket name cannot be an IP address"
    if name.startswith("goog") or "google" in name:
        return "a bucket name cannot start with 'goog' or contain 'google'"
    return None


def path_problem(path: str) -> str | None:
    """Why TF 2.16 in the image cannot write `path`, or why its bucket is invalid; or None."""
    if "://" not in path:
        return None  # a local path (only useful for `babyweight kfp-spec-run`)
    scheme = path.split("://", 1)[0] + "://"
    if scheme not in WRITABLE_SCHEMES:
        return (
            f"TF 2.16 in the pipeline image cannot write {scheme} paths (no filesystem plugin "
            "for it); use gs://BUCKET/PATH"
        )
    bucket = path[len(scheme) :].split("/", 1)[0]
    problem = bucket_problem(bucket)
    return f"bucket {bucket!r}: {problem}" if problem else None


def problems(paths: dict[str, str | None], bucket: str | None, where) -> list[str]:
    """One line per bad setting: the bucket by GCS's rules, each path by path_problem (a path
    in a bad --bucket is that bucket's line). `where(name)` says how the setting is set."""
    found = []
    if bucket and bucket_problem(bucket):
        found.append(f"bucket={bucket!r} ({where('bucket')}): {bucket_problem(bucket)}")
    for name, value in paths.items():
        if not value or (found and value.startswith(f"gs://{bucket}/")):
            continue
        problem = path_problem(value)
        if problem:
            found.append(f"{name}={value!r} ({where(name)}): {problem}")
    return found
