"""Reading a settings file (run config, sweep config): YAML or JSON, told apart by content, never by name.

What a user meets with a hand-written file, each a `ConfigFileError` naming the file, the
line and column where known, and what to do:

- not a regular file (a folder, a FIFO, `/dev/zero`), over `MAX_BYTES`, or not UTF-8 text;
- a syntax error (line and column from the JSON or YAML parser);
- a key given twice in one mapping (YAML and JSON both let the later one win silently; a typo'd
  override must not be half applied, so it is refused);
- a top level that is not a mapping (a list, a bare number), or an empty file where a mapping is required.

A file whose first character is `{` or `[` is JSON (YAML 1.1 would also read it, but JSON's
messages point at the problem better); anything else is YAML. Pure module: PyYAML only.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_BYTES = 1_000_000  # a run config is a few hundred bytes; a bigger file is the wrong file


class ConfigFileError(ValueError):
    """A settings file that cannot be read as a mapping; the message is one line."""


def _read_text(path: Path) -> str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ConfigFileError(f"{path}: is {kind}; give a YAML or JSON file")
    if st.st_size > MAX_BYTES:
        raise ConfigFileError(f"{path}: {st.st_size} bytes is too big for a settings file (at most {MAX_BYTES}); is it the right file?")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigFileError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key, None)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    def __init__(self, key: Any, mark: Any):
        self.key, self.mark = key, mark


def _yaml_loader():
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last one)."""

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:  # an unhashable key: SafeLoader reports it itself
                    continue
                if duplicate:
                    raise _DuplicateKey(key, key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_json_pairs)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(f"{path}:{exc.lineno}:{exc.colno}: JSON syntax error: {exc.msg}") from None
    except _DuplicateKey as dup:
        line = _first_line_with_second(text, json.dumps(dup.key))
        raise ConfigFileError(f"{path}{f':{line}' if line else ''}: key {dup.key!r} is given twice; keep one") from None


def _first_line_with_second(text: str, needle: str) -> int | None:
    """1-based line of the second occurrence of `needle` (JSON's decoder gives no position for a duplicate)."""
    first = text.find(needle)
    second = text.find(needle, first + 1) if first >= 0 else -1
    return text.count("\n", 0, second) + 1 if second >= 0 else None


def _parse_yaml(path: Path, text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as dup:
        raise ConfigFileError(f"{path}:{dup.mark.line + 1}:{dup.mark.column + 1}: key {dup.key!r} is given twice "
                              "in the same mapping (the later one would silently win); keep one") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigFileError(f"{path}{where}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: YAML error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    except RecursionError:
        raise ConfigFileError(f"{path}: nested too deeply to be a settings file") from None


def read_config_file(path: Path | str, *, empty_ok: bool = True) -> dict[str, Any]:
    """The mapping in a YAML or JSON settings file.

    Args:
        path: The file.
        empty_ok: An empty (or comment-only) file is `{}`; when False it is an error.

    Returns:
        The top-level mapping, with string keys.

    Raises:
        ConfigFileError: One line naming the file (and line:column where known) and the problem.
    """
    path = Path(path)
    text = _read_text(path)
    stripped = text.lstrip()
    value = _parse_json(path, text) if stripped[:1] in ("{", "[") else _parse_yaml(path, text)
    if value is None:
        if empty_ok:
            return {}
        raise ConfigFileError(f"{path}: is empty; write a mapping such as `ops: {{...}}`")
    if not isinstance(value, dict):
        raise ConfigFileError(f"{path}: the top level is a {_kind(value)}, not a mapping; write `key: value` lines "
                              "(YAML) or a {...} object (JSON)")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise ConfigFileError(f"{path}: top-level key {bad[0]!r} is not text; quote it")
    return value


def _kind(value: Any) -> str:
    return {list: "list", str: "text value", int: "number", float: "number", bool: "boolean"}.get(type(value), type(value).__name__)
