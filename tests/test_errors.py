"""One error base: every exception class of the project stands on BabyweightError, and the table
of causes and exit codes in babyweight/errors.py says what each one exits with."""

from __future__ import annotations

import ast
import builtins
import importlib
import re

from babyweight import errors
from babyweight.errors import BabyweightError, ExitCode

from helpers import REPO

SOURCES = ["babyweight", "pipeline", "models", "local_runner.py", "kubeflow_runner.py"]
BUILTIN_ERRORS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def project_classes() -> dict[str, tuple[str, list[str]]]:
    """Every class of the project's code: name -> (module, the names of its bases)."""
    found = {}
    for top in SOURCES:
        path = REPO / top
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            module = ".".join(file.relative_to(REPO).with_suffix("").parts)
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                    found[node.name] = (module, bases)
    return found


def is_exception(name: str, classes: dict, seen=()) -> bool:
    if name in BUILTIN_ERRORS:
        return True
    if name not in classes or name in seen:
        return False
    return any(is_exception(b, classes, (*seen, name)) for b in classes[name][1])


def reaches_base(name: str, classes: dict) -> bool:
    if name == "BabyweightError":
        return True
    return name in classes and any(reaches_base(b, classes) for b in classes[name][1])


def test_every_exception_class_stands_on_babyweight_error():
    classes = project_classes()
    exceptions = [n for n in classes if is_exception(n, classes)]
    assert len(exceptions) >= 20  # the scan found them (21 when errors.py was written)
    strays = [f"{classes[n][0]}.{n}" for n in exceptions if not reaches_base(n, classes)]
    assert strays == [], f"subclass BabyweightError (babyweight/errors.py): {strays}"


def documented_codes() -> dict[str, set[int]]:
    """The table in babyweight/errors.py: class name -> the codes its rows give."""
    codes: dict[str, set[int]] = {}
    code = None
    for line in errors.__doc__.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not line.startswith("|"):
            continue
        if cells[1].isdigit():
            code = int(cells[1])
        for name in re.findall(r"[A-Z]\w+", cells[2]):
            codes.setdefault(name, set()).add(code)
    return codes


def test_the_table_of_exit_codes_says_what_each_error_exits_with():
    classes = project_classes()
    table = documented_codes()
    assert {int(c) for c in ExitCode} >= {c for codes in table.values() for c in codes}
    checked = 0
    for name, codes in table.items():
        if name not in classes:
            continue  # KeyboardInterrupt
        module = importlib.import_module(classes[name][0])
        cls = getattr(module, name)
        assert issubclass(cls, BabyweightError), name
        assert int(cls.code) in codes, (name, cls.code, codes)
        checked += 1
    assert checked >= 10


def test_an_error_keeps_its_code_and_its_one_line():
    error = errors.UsageError("--output x: not a directory")
    assert (str(error), error.code) == ("--output x: not a directory", ExitCode.USAGE)
    assert errors.JobFailed("counts differ").code == ExitCode.FAILED
    assert BabyweightError("held", ExitCode.LOCKED).code == ExitCode.LOCKED
    missing = errors.MissingStoreError("no ML Metadata store at x/metadata.sqlite")
    assert isinstance(missing, FileNotFoundError) and missing.code == ExitCode.USAGE
