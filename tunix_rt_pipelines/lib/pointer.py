"""`Pointer`: what one step tells the next about a file or folder it wrote.

A pointer is a path and the sha256 of what is there. The path is relative to the artifact root
(posix, no `..`), so moving the root, or reading it from another machine that mounts it
elsewhere, keeps every stored run readable. The one exception is a model folder the user
pointed at themselves (a local folder or a Hugging Face cache snapshot): it is recorded as the
absolute path it was found at, because the project never copied it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict


class Pointer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str  # relative to the artifact root, or absolute for a folder outside it
    sha256: str

    @property
    def external(self) -> bool:
        """True for a folder outside the artifact root (recorded as an absolute path)."""
        return PurePosixPath(self.path).is_absolute()

    def resolve(self, root: Path) -> Path:
        """The local path: `root / path` for an artifact, the path itself for an external folder."""
        return Path(self.path) if self.external else root.joinpath(*PurePosixPath(self.path).parts)


def pointer_to(path: Path, root: Path, sha256: str) -> Pointer:
    """A pointer to `path`: relative when it lies under `root`, absolute otherwise."""
    path, root = Path(path).resolve(), Path(root).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        return Pointer(path=path.as_posix(), sha256=sha256)
    return Pointer(path=relative.as_posix() or ".", sha256=sha256)
