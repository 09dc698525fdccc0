"""Content hashes and folder keys: the one place the project turns inputs into names.

- `sha256_bytes` / `sha256_file`: the hash of some bytes or of one file.
- `tree_sha256`: a folder's files by relative name and content (stable across copies).
- `folder_key`: the folder name for one set of inputs (model, data, settings, ...): the same
  inputs always give the same folder, so a rerun finds (and resumes) its earlier work.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

FOLDER_KEY_LENGTH = 16  # hex characters: 64 bits, ample for the folders of one project


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(folder: Path, files: Iterable[Path]) -> str:
    """sha256 over `relative/name\\0sha256(content)\\n` for each file, in the order given."""
    outer = hashlib.sha256()
    for path in files:
        outer.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode())
    return outer.hexdigest()


def folder_key(*parts: object) -> str:
    """A short, stable name for a folder of results made from `parts` (JSON-serialisable values)."""
    payload = json.dumps(list(parts), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:FOLDER_KEY_LENGTH]
