"""MkDocs hook: the reference pages, generated from the code at build time.

A page asks for generated text with a marker line; the hook replaces the marker:

    <!-- generated: commands -->     every command's --help: local_runner.py, kubeflow_runner.py
                                     and each `babyweight COMMAND` of babyweight/cli.py COMMANDS,
                                     subcommands included
    <!-- generated: settings -->     pipeline.configs.SETTINGS (name, flag, env, default, help), or
                                     a short note while the code has no SETTINGS
    <!-- generated: output-tree -->  the output directory as babyweight/layout.py's docstring draws
                                     it, checked against OutputLayout's paths

A command whose parser cannot be read, or a drawn tree that disagrees with OutputLayout, is a
warning, so `mkdocs build --strict` fails on it. Nothing here imports TensorFlow: the commands'
modules load it only when they run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import logging
import os
import re
import sys
import warnings
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.reference")

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
HELP_COLUMNS = "100"  # argparse wraps help to $COLUMNS
RUNNERS = [("local_runner.py", "local_runner"), ("kubeflow_runner.py", "kubeflow_runner")]
SETTING_FIELDS = ("name", "flag", "env", "default", "help")


def on_config(config):
    root = str(Path(config.config_file_path).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def on_page_markdown(markdown, page, config, files):
    generators = {"commands": commands_page, "settings": settings_page, "output-tree": output_tree}

    def replace(match):
        kind = match.group(1)
        if kind not in generators:
            log.warning("%s: no generator for marker %r", page.file.src_path, kind)
            return match.group(0)
        return generators[kind]()

    return MARKER.sub(replace, markdown)


# --- commands -------------------------------------------------------------------------------


class _Parsed(BaseException):
    """Raised in place of parsing, to hand back the parser that main() built."""

    def __init__(self, parser):
        super().__init__()
        self.parser = parser


@contextlib.contextmanager
def _as_program(name: str):
    """argv[0] and the help width as when a person runs `name` in a 100-column terminal; the
    libraries' deprecation warnings on import (MkDocs logs each with its stack) left out."""
    saved_argv, saved_columns = sys.argv[:], os.environ.get("COLUMNS")
    sys.argv[:] = [name]
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        with warnings.catch_warnings():
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            yield
    finally:
        sys.argv[:] = saved_argv
        if saved_columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved_columns


def _parser_of(module) -> argparse.ArgumentParser | None:
    """The command's parser: build_parser() where the module (or the module of its main) has
    one, else the parser its main(["--help"]) builds, caught when it starts parsing."""
    home = sys.modules.get(getattr(getattr(module, "main", None), "__module__", ""), module)
    for where in (module, home):  # a thin script's main may live in a cli module
        if hasattr(where, "build_parser"):
            return where.build_parser()
    original = argparse.ArgumentParser.parse_known_args

    def caught(self, args=None, namespace=None):
        raise _Parsed(self)

    argparse.ArgumentParser.parse_known_args = caught
    try:
        module.main(["--help"])
    except _Parsed as parsed:
        return parsed.parser
    except SystemExit:
        pass
    finally:
        argparse.ArgumentParser.parse_known_args = original
    return None


def _help_of_main(module) -> str:
    """What main(["--help"]) prints, for a command that parses without argparse."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        module.main(["--help"])
    return out.getvalue()


def _subcommands(parser: argparse.ArgumentParser):
    seen = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield name, sub


def _command_section(title: str, summary: str, parser, text: str, level: int = 2) -> list[str]:
    lines = [f"{'#' * level} `{title}`", ""]
    if summary:
        lines += [summary, ""]
    lines += ["```text", (parser.format_help() if parser else text).rstrip(), "```", ""]
    for name, sub in _subcommands(parser) if parser else []:
        lines += _command_section(f"{title} {name}", "", sub, "", level + 1)
    return lines


def _command(title: str, module_name: str, summary: str = "") -> list[str]:
    with _as_program(title):
        try:
            module = importlib.import_module(module_name)
            parser = _parser_of(module)
            text = "" if parser else _help_of_main(module)
            if not parser and not text.strip():
                log.warning("commands: %s (%s) printed no help", title, module_name)
            return _command_section(title, summary, parser, text)
        except Exception as e:  # a command that cannot show its help is a broken page
            log.warning("commands: %s (%s): %s: %s", title, module_name, type(e).__name__, e)
            return [f"## `{title}`", "", f"Its help could not be read ({type(e).__name__}).", ""]


def commands_page() -> str:
    from babyweight import cli

    lines = ["## `babyweight`", "", "```text", cli.usage(), "```", ""]
    for title, module_name in RUNNERS:
        lines += _command(title, module_name)
    for name, (module_name, summary) in cli.COMMANDS.items():
        lines += _command(f"babyweight {name}", module_name, summary)
    return "\n".join(lines)


# --- settings -------------------------------------------------------------------------------


def _field(setting, name: str):
    if isinstance(setting, dict):
        return setting.get(name)
    return getattr(setting, name, None)


def _has_field(setting, name: str) -> bool:
    return name in setting if isinstance(setting, dict) else hasattr(setting, name)


def _cell(value) -> str:
    """A table cell: paths and text as written, other values as Python writes them."""
    if value is None or value == "":
        return ""
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        value = ", ".join(value)  # a setting with several flags or variables
    elif isinstance(value, Path):  # under the repository: as written from its root
        root = Path(__file__).resolve().parents[2]
        value = str(value.relative_to(root) if value.is_relative_to(root) else value)
    elif not isinstance(value, str) or not value.strip():
        value = repr(value)
    return value.replace("|", "\\|").replace("\n", " ")


def settings_page() -> str:
    configs = importlib.import_module("pipeline.configs")
    settings = getattr(configs, "SETTINGS", None)
    if settings is None:
        return (
            "!!! note\n"
            "    `pipeline/configs.py` does not declare `SETTINGS` yet, so this table is empty. "
            "Until it does, every flag is in the [commands reference](commands.md), and the "
            "Kubeflow settings with their environment variables in "
            "[Kubeflow and Vertex](../kubeflow.md#settings).\n"
        )
    items = list(settings.values() if isinstance(settings, dict) else settings)
    lines = ["| setting | flag | environment | default | help |", "|---|---|---|---|---|"]
    for setting in items:
        missing = [f for f in SETTING_FIELDS if not _has_field(setting, f)]
        if missing:
            log.warning("settings: %r has no %s", setting, ", ".join(missing))
        name, flag, env, default, help_text = (_field(setting, f) for f in SETTING_FIELDS)
        code = [f"`{_cell(v)}`" if _cell(v) else "" for v in (name, flag, env, default)]
        lines.append("| " + " | ".join([*code, _cell(help_text)]) + " |")
    return "\n".join(lines) + "\n"


# --- the output directory -------------------------------------------------------------------


def _drawn_tree(doc: str) -> tuple[list[str], list[str]]:
    """(the tree's lines, the paths it names) from the indented block that starts at `DIR/`."""
    lines = inspect.cleandoc(doc).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "DIR/")
    base = len(lines[start]) - len(lines[start].lstrip())
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= base:
            break
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    entry_indent = len(block[1]) - len(block[1].lstrip())
    paths = [
        re.split(r"\s{2,}", line.strip())[0]
        for line in block[1:]
        if line.strip() and len(line) - len(line.lstrip()) == entry_indent
    ]
    return [line[base:] for line in block], paths


def _pattern(path: str) -> list[str]:
    """A path's parts with every placeholder (<run id>, N, [<version>/], a number) as *."""
    parts = []
    for part in re.sub(r"\[([^\]]*)\]", r"\1", path).strip("/").split("/"):
        part = re.sub(r"<[^>]*>|\{[^}]*\}|\b\d+\b", "*", part)
        parts.append("*" if part == "N" else re.sub(r"-N\b", "-*", part))
    return parts


def _code_paths(layout_module) -> list[str]:
    """Every path OutputLayout gives, relative to its root, placeholders filled in."""
    layout = layout_module.OutputLayout(Path("DIR"))
    paths = []
    for name, member in inspect.getmembers(type(layout)):
        if name.startswith("_") or name == "root":
            continue
        try:
            if isinstance(member, property):
                value = getattr(layout, name)
            elif inspect.isfunction(member):
                params = list(inspect.signature(member).parameters)[1:]
                if len(params) != 1:
                    continue
                value = _call_with_placeholder(getattr(layout, name), params[0])
            else:
                continue
        except Exception:  # a method that checks the disk (require_metadata) is no path
            continue
        if isinstance(value, Path) and value.parts[:1] == ("DIR",):
            paths.append(str(value.relative_to("DIR")))
    return paths


def _call_with_placeholder(method, param: str):
    """method(<param>), or method(0) for a method that wants a number (a span)."""
    try:
        return method(f"<{param}>")
    except (TypeError, ValueError):
        return method(0)


def _covers(prefix: list[str], path: list[str]) -> bool:
    return len(prefix) <= len(path) and all(
        a == b or "*" in (a, b) or re.fullmatch(re.escape(a).replace(r"\*", ".*"), b)
        for a, b in zip(prefix, path, strict=False)
    )


def output_tree() -> str:
    layout_module = importlib.import_module("babyweight.layout")
    tree, drawn = _drawn_tree(layout_module.__doc__ or "")
    code = _code_paths(layout_module)
    drawn_parts, code_parts = [_pattern(p) for p in drawn], [_pattern(p) for p in code]
    for path, parts in zip(code, code_parts, strict=True):
        if not any(_covers(parts, d) for d in drawn_parts):
            log.warning(
                "output tree: OutputLayout has %s, babyweight/layout.py does not draw it", path
            )
    for path, parts in zip(drawn, drawn_parts, strict=True):
        if not any(_covers(c, parts) for c in code_parts):
            log.warning(
                "output tree: babyweight/layout.py draws %s, OutputLayout has no such path", path
            )
    return "```text\n" + "\n".join(tree) + "\n```\n"
