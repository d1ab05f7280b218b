"""Build the Kubeflow Pipelines UI from its public source into an ignored folder (`make ui`).

The frontend of one pinned KFP release tag is taken out of a git copy of kubeflow/pipelines
(KFP_SRC: a clone or a bare git dir), never from this repository: KFP's code and its build are
not committed here. The tag must point at the commit written below, so a moved tag is an error.

Two things differ from KFP's own `npm run build`, both because of this machine, not the UI:
- the `fs` placeholder devDependency (fs@0.0.1-security, a squatted name nothing imports) is
  dropped from package.json and package-lock.json: the npm registry no longer serves it;
- `npm ci --engine-strict=false --ignore-scripts`: package.json asks for Node 24.14.0 (we build
  on Node 20, which Vite 8 accepts from 20.19), and its postinstall installs the Node server and
  the mock backend, which `babyweight ui` does not use (it serves the build and the APIs itself).
Lint and typecheck (the first two steps of KFP's `npm run build`) are skipped; the tailwind step
(its prebuild) and `vite build` are run as KFP runs them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from babyweight.errors import BabyweightError, ExitCode

KFP_TAG = "2.17.0"
KFP_COMMIT = "4a3592cb2dd0a91a4652ab93893ec8beda1f3158"
PLACEHOLDERS = ("fs",)  # devDependencies the registry no longer serves
BUILD_MARK = "kfp-ui-build.json"  # written into build/ last: what was built, from what


def git(src: Path, *args: str) -> subprocess.CompletedProcess:
    flag = ["--git-dir", str(src)] if not (src / ".git").exists() else ["-C", str(src)]
    return subprocess.run(["git", *flag, *args], capture_output=True, check=False)


def resolve_tag(src: Path, tag: str) -> str:
    if not src.exists():
        raise BabyweightError(
            f"KFP_SRC {src}: no such directory (a git copy of kubeflow/pipelines)"
        )
    done = git(src, "rev-parse", f"{tag}^{{commit}}")
    if done.returncode:
        raise BabyweightError(f"KFP_SRC {src}: has no tag {tag} (is it kubeflow/pipelines?)")
    return done.stdout.decode().strip()


def extract(src: Path, tag: str, dest: Path) -> Path:
    """frontend/ of `tag` into dest/frontend (replaced), from `git archive`."""
    frontend = dest / "frontend"
    if frontend.exists():
        shutil.rmtree(frontend)
    dest.mkdir(parents=True, exist_ok=True)
    archive = git(src, "archive", "--format=tar", tag, "frontend")
    if archive.returncode:
        raise BabyweightError(f"KFP_SRC {src}: git archive {tag} frontend failed")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return frontend


def drop_placeholders(frontend: Path) -> list[str]:
    """Drop PLACEHOLDERS from package.json's devDependencies and the lock; returns those dropped."""
    package_path, lock_path = frontend / "package.json", frontend / "package-lock.json"
    package, lock = json.loads(package_path.read_text()), json.loads(lock_path.read_text())
    removed = []
    for name in PLACEHOLDERS:
        if package.get("devDependencies", {}).pop(name, None) is not None:
            removed.append(name)
        lock["packages"][""].get("devDependencies", {}).pop(name, None)
        lock["packages"].pop(f"node_modules/{name}", None)
    package_path.write_text(json.dumps(package, indent=2) + "\n")
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    return removed


def npm(frontend: Path, *args: str) -> None:
    print("$", " ".join(args), flush=True)
    if subprocess.run(list(args), cwd=frontend, check=False).returncode:
        raise BabyweightError(f"`{' '.join(args)}` failed in {frontend}", code=ExitCode.FAILED)


def build(src: Path, dest: Path, tag: str = KFP_TAG, commit: str = KFP_COMMIT) -> Path:
    """The built UI's folder (dest/frontend/build)."""
    if shutil.which("npm") is None:
        raise BabyweightError("npm: not found (make ui needs Node 20.19 or newer and npm)")
    found = resolve_tag(src, tag)
    if found != commit:
        raise BabyweightError(f"KFP_SRC {src}: tag {tag} is {found}, expected {commit}")
    mark = {"repository": "kubeflow/pipelines", "tag": tag, "commit": commit}
    built = dest / "frontend" / "build"
    if (built / BUILD_MARK).is_file() and json.loads((built / BUILD_MARK).read_text()) == mark:
        print(f"already built: {built} ({tag}, {commit}); rm -rf {dest} to build again")
        return built
    frontend = extract(src, tag, dest)
    print(
        f"kubeflow/pipelines {tag} ({commit}) frontend/ -> {frontend};",
        f"dropped {drop_placeholders(frontend)}",
    )
    npm(
        frontend,
        "npm",
        "ci",
        "--engine-strict=false",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
    )
    npm(
        frontend,
        "npx",
        "tailwindcss",
        "build",
        "-i",
        "src/tailwind.css",
        "-o",
        "src/build/tailwind.output.css",
    )
    npm(frontend, "npx", "vite", "build")
    (frontend / "build" / BUILD_MARK).write_text(json.dumps(mark) + "\n")
    return frontend / "build"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m babyweight.ui.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--src", required=True, type=Path, help="a git copy of kubeflow/pipelines")
    parser.add_argument("--dest", default=Path(".ui"), type=Path, help="the ignored build folder")
    args = parser.parse_args(argv)
    try:
        print(f"built: {build(args.src, args.dest)}")
    except BabyweightError as e:
        print(f"make ui: {e}", file=sys.stderr)
        return int(e.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
