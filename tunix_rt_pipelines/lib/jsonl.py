"""The one JSONL reader: every line parsed or reported, never skipped.

Dataset files (`items.jsonl`) and predictions files (`predictions.jsonl`) are both read with
`read_jsonl_lines`; each then validates the objects against its own contract. A problem names
the file, the 1-based line, the field and what is wrong (`FILE:LINE: FIELD: message`); line 0
means the file as a whole.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, printable as `FILE:LINE: FIELD: message`."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


def canonical_line(obj: object) -> str:
    """The canonical JSON form of one object: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class JsonlLines:
    """A JSONL file as read: the parsed objects by line number, the problems, and each line's
    canonical bytes (the raw bytes for a line that does not parse), for content hashing."""

    objects: list[tuple[int, object]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    canonical: list[bytes] = field(default_factory=list)
    line_count: int = 0
    readable: bool = True


def read_jsonl_lines(path: Path, display: str | None = None) -> JsonlLines:
    """Parse every line of `path` as one JSON value.

    Args:
        path: The file.
        display: The file name used in problems (defaults to the path as given).

    Returns:
        Objects and problems in line order. An unreadable file gives one line-0 problem and
        `readable=False`; invalid UTF-8, blank lines and invalid JSON are line problems.
    """
    name = display or str(path)
    out = JsonlLines()
    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a FIFO would block until a writer came; /dev/zero never ends
            out.problems.append(Problem(name, 0, "<file>", "not a regular file (a pipe or a device); give a .jsonl file"))
            out.readable = False
            return out
        raw = path.read_bytes()
    except OSError as exc:
        out.problems.append(Problem(name, 0, "<file>", f"cannot read: {exc.strerror or exc}"))
        out.readable = False
        return out
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line; it does not start an empty one
    out.line_count = len(lines)
    for number, line in enumerate(lines, start=1):
        problem, obj, canonical = _parse(name, number, line)
        out.canonical.append(canonical if problem is None else line)
        if problem is not None:
            out.problems.append(problem)
        else:
            out.objects.append((number, obj))
    return out


def _parse(name: str, number: int, line: bytes) -> tuple[Problem | None, object, bytes]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(name, number, "<line>", f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"), None, b""
    if not text.strip():
        return Problem(name, number, "<line>", "blank line; remove it"), None, b""
    try:
        obj = json.loads(text)
        canonical = canonical_line(obj).encode("utf-8")  # fails on a lone surrogate escape
    except json.JSONDecodeError as exc:
        return Problem(name, number, "<json>", f"invalid JSON at column {exc.colno}: {exc.msg}"), None, b""
    except UnicodeEncodeError as exc:  # JSON allows "\ud800"; Python holds it, UTF-8 cannot
        bad = exc.object[exc.start:exc.end].encode("unicode_escape").decode("ascii") if isinstance(exc.object, str) else "?"
        return Problem(name, number, "<json>", f"a lone surrogate escape ({bad}) is not text; write the character itself "
                                               "or a valid surrogate pair"), None, b""
    except (ValueError, RecursionError) as exc:
        # Valid JSON syntax Python cannot hold: a lone surrogate escape, an integer of
        # thousands of digits, nesting deeper than the recursion limit.
        return Problem(name, number, "<json>", f"unsupported JSON value: {type(exc).__name__}: {str(exc)[:80]}"), None, b""
    return None, obj, canonical
