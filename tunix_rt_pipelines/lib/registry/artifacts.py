"""The registry's file store: immutable, content-addressed copies of checkpoints and evaluations.

Layout under the store root (default `<project home>/registry/`):

    artifacts/<sha256>/          the checkpoint files (`loading.checkpoint_files`), as promoted
    evaluations/<sha256>.json    the evaluation.json (per-item results) each version was judged on

A folder is published once: files are copied into a hidden temporary sibling, hashed, and the
folder is renamed into place only when the copy hashes to the expected sha256. Renaming onto an
existing (non-empty) folder fails on POSIX, so when two promotions publish the same checkpoint at
once the first rename wins and the second verifies the winner and discards its copy; nobody ever
sees a partial folder. (`files.staged_dir` replaces an existing target instead, which is right for
re-runnable outputs but would briefly remove a folder that another promotion is reading.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from tunix_rt_pipelines.lib.files import atomic_write_bytes, staged_dir
from tunix_rt_pipelines.lib.hashing import tree_sha256
from tunix_rt_pipelines.lib.models.loading import ADAPTER_DIR, checkpoint_files, folder_sha256


class ArtifactError(Exception):
    """Artifacts are missing, changed or cannot be written; the message says what to do."""


def _copy_verified(src_files: list[Path], src_root: Path, dest: Path, expected_sha256: str, explain: str) -> None:
    for path in src_files:
        target = dest / path.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)  # a LoRA checkpoint's adapter/ folder
        shutil.copy2(path, target)
    got = folder_sha256(dest)
    if got != expected_sha256:
        raise ArtifactError(f"{src_root}: the files hash to {got[:12]}, not the expected {expected_sha256[:12]}; {explain}")


def publish_checkpoint(src: Path, sha256: str, root: Path) -> Path:
    """Copy a checkpoint folder to `root/artifacts/<sha256>/` once, verified; return that folder.

    Raises:
        ArtifactError: The copy does not hash to `sha256` (nothing is left behind), or an existing
            published folder for this sha256 no longer hashes to it.
    """
    final = root / "artifacts" / sha256
    if final.exists():
        verify_folder(final, sha256)
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{sha256[:12]}.tmp-"))
    try:
        _copy_verified(checkpoint_files(src), src, tmp, sha256, "the checkpoint changed while it was copied; nothing was kept")
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # anything but "another promotion published it first"
                raise
            verify_folder(final, sha256)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already after a successful rename
    return final


def _require_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: the registry copy is missing; the store was modified outside the registry")


def verify_folder(folder: Path, sha256: str) -> None:
    """Raise `ArtifactError` unless `folder` exists and its checkpoint files hash to `sha256`."""
    _require_folder(folder)
    got = folder_sha256(folder)
    if got != sha256:
        raise ArtifactError(f"{folder}: the registry copy hashes to {got[:12]} but was registered as {sha256[:12]}; "
                            "the store was modified outside the registry and this version cannot be trusted")


def publish_evaluation(path: Path, root: Path) -> tuple[Path, str]:
    """Copy an evaluation.json to `root/evaluations/<sha256>.json`; return the copy and its sha256."""
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    final = root / "evaluations" / f"{sha256}.json"
    if not final.exists():
        atomic_write_bytes(final, data)  # rename over an identical file is harmless
    return final, sha256


def read_verified(path: Path, sha256: str) -> bytes:
    """The bytes of a published evaluation, or `ArtifactError` if missing or changed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{path}: the registry's copy of the evaluation cannot be read ({exc.strerror})") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArtifactError(f"{path}: the registry's copy of the evaluation was modified outside the registry")
    return data


def export_checkpoint(folder: Path, sha256: str, dest: Path, adapter_only: bool = False) -> int:
    """Copy a published checkpoint (or only its LoRA adapter) to `dest`, verified; return the bytes copied.

    `dest` must not exist or be an empty folder. The copy is made in a temporary sibling and only
    takes `dest`'s place when it verifies, so a failed export leaves `dest` as it was. With
    `adapter_only`, the whole registry copy is verified against `sha256` first, then the adapter's
    files (`adapter/`) become `dest`: a folder peft loads with `PeftModel.from_pretrained`.

    Raises:
        ArtifactError: `dest` is not empty, the registry copy is missing or was tampered with, or
            (adapter_only) the version was trained without LoRA.
    """
    if dest.is_symlink():
        raise ArtifactError(f"{dest}: is a symbolic link (to {os.readlink(dest)}); export into a real new or empty folder")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ArtifactError(f"{dest}: exists and is not an empty folder; export into a new or empty folder")
    _require_folder(folder)
    if adapter_only:
        if not (folder / ADAPTER_DIR).is_dir():
            raise ArtifactError(f"{folder.name[:12]}: this version was trained without LoRA, so it has no adapter; export the whole checkpoint")
        verify_folder(folder, sha256)
        files = [p for p in checkpoint_files(folder) if p.parent.name == ADAPTER_DIR]
        with staged_dir(dest) as tmp:
            for path in files:
                shutil.copy2(path, tmp / path.name)
            if tree_sha256(tmp, sorted(tmp.iterdir())) != tree_sha256(folder / ADAPTER_DIR, files):
                raise ArtifactError(f"the adapter changed while it was copied; {dest} was not written")
        return sum(path.stat().st_size for path in dest.iterdir())
    files = checkpoint_files(folder)
    with staged_dir(dest) as tmp:
        _copy_verified(files, folder, tmp, sha256, f"the registry copy was modified outside the registry; {dest} was not written")
    return folder_size(dest)  # the verified copy


def folder_size(folder: Path) -> int:
    """Bytes in a checkpoint's files (what the registry copies)."""
    return sum(path.stat().st_size for path in checkpoint_files(folder))
