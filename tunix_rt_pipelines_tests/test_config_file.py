"""`lib/config_file.read_config_file`: YAML or JSON by content, one-line errors with file:line:column.

Contract: the same mapping comes back whatever the file is called; a duplicate key, a top level
that is not a mapping, a syntax error, non-UTF-8 bytes and anything that is not a regular file
are each a `ConfigFileError` whose one-line message names the file and (where the parser knows
it) the line and column.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tunix_rt_pipelines.lib.config_file import MAX_BYTES, ConfigFileError, read_config_file

SETTINGS = {"ops": {"trained_checkpoint": {"config": {"max_steps": 20}}}}


@pytest.mark.parametrize("name, text", [
    ("run.yaml", "ops:\n  trained_checkpoint:\n    config:\n      max_steps: 20\n"),
    ("run.YAML", "ops:\n  trained_checkpoint:\n    config:\n      max_steps: 20\n"),  # upper-case suffix
    ("run.txt", "ops:\n  trained_checkpoint:\n    config:\n      max_steps: 20\n"),   # YAML in a .txt
    ("run.json", "ops:\n  trained_checkpoint:\n    config:\n      max_steps: 20\n"),  # YAML in a .json
    ("run.yaml", '{"ops": {"trained_checkpoint": {"config": {"max_steps": 20}}}}'),   # JSON in a .yaml
    ("run", '\ufeff  {"ops": {"trained_checkpoint": {"config": {"max_steps": 20}}}}'),  # BOM, no suffix
])
def test_yaml_or_json_by_content(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert read_config_file(path) == SETTINGS


@pytest.mark.parametrize("text, expected", [
    # a duplicate key, in every place it can hide
    ("max_steps: 1\nmax_steps: 2\n", r"run\.cfg:2:1: key 'max_steps' is given twice"),
    ("ops:\n  a: {config: {x: 1, x: 2}}\n", r"run\.cfg:2:\d+: key 'x' is given twice"),
    ('{"ops": {"a": 1, "a": 2}}', r"run\.cfg:1: key 'a' is given twice"),
    ('{\n "x": 1,\n "x": 2\n}', r"run\.cfg:3: key 'x' is given twice"),
    # a top level that is not a mapping
    ("- a\n- b\n", r"run\.cfg: the top level is a list, not a mapping"),
    ("[1, 2]", r"run\.cfg: the top level is a list, not a mapping"),
    ("42\n", r"run\.cfg: the top level is a number, not a mapping"),
    ("just words\n", r"run\.cfg: the top level is a text value, not a mapping"),
    ("1: a\n", r"run\.cfg: top-level key 1 is not text"),
    # syntax errors name line and column
    ("ops:\n  a: [1, 2\n", r"run\.cfg:3:1: YAML syntax error: .*"),
    ("ops:\n\tbad: 1\n", r"run\.cfg:2:1: YAML syntax error: .*"),
    ("a: b: c\n", r"run\.cfg:1:5: YAML syntax error: mapping values are not allowed here"),
    ('{"ops": }', r"run\.cfg:1:9: JSON syntax error: Expecting value"),
    ('{"a": 1,\n}', r"run\.cfg:2:1: JSON syntax error: Expecting property name"),
    ("x: !!python/object:os.system {}\n", r"run\.cfg:1:4: YAML syntax error: .*could not determine a constructor"),
])
def test_unreadable_settings_are_one_line_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "run.cfg"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=expected) as info:
        read_config_file(path)
    assert "\n" not in str(info.value)


def test_empty_file_is_an_empty_mapping_unless_one_is_required(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing set\n")
    assert read_config_file(path) == {}
    with pytest.raises(ConfigFileError, match="empty.yaml: is empty"):
        read_config_file(path, empty_ok=False)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nb: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigFileError, match=r"latin1\.yaml:2: not UTF-8 text"):
        read_config_file(path)


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # reading it would block until a writer came: it must not be opened at all
    for path, message in [(fifo, "not a regular file"), (tmp_path, "is a folder"), (tmp_path / "none.yaml", "no such file"),
                          (Path("/dev/zero"), "not a regular file")]:
        with pytest.raises(ConfigFileError, match=message):
            read_config_file(path)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: nothing is really written
    with pytest.raises(ConfigFileError, match="too big for a settings file"):
        read_config_file(path)
