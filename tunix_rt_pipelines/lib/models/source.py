"""From a user's model setting (`builtin:tiny`, a hub id, a folder) to a checked local folder."""

from __future__ import annotations

import re
from pathlib import Path

from tunix_rt_pipelines.lib.files import staged_dir
from tunix_rt_pipelines.lib.models.builtin import builtin_spec, create_builtin, is_builtin
from tunix_rt_pipelines.lib.models.loading import ModelLoadError, check_model_folder, resolve_hub_snapshot

DEFAULT_BASE_MODEL = "builtin:tiny"
BASE_MODEL_ENV = "TUNIX_RT_BASE_MODEL"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def resolve_model_folder(name_or_path: str, models_dir: Path, *, revision: str | None = None,
                         allow_download: bool = True, builtin_seed: int = 0) -> Path:
    """The local folder holding the model named by `name_or_path`.

    Args:
        name_or_path: `builtin:<name>`, a folder saved with `save_pretrained`, or a hub id.
        models_dir: Where built-in models are created (once per name and seed).
        revision: Hub revision for hub ids.
        allow_download: Let hub ids be downloaded when not cached (HF_HUB_OFFLINE=1 also forbids it).
        builtin_seed: Initialisation seed for built-in models.

    Raises:
        ModelLoadError: The model does not exist or cannot be used safely.
    """
    if is_builtin(name_or_path):
        try:
            builtin_spec(name_or_path)
        except ValueError as exc:
            raise ModelLoadError(str(exc)) from None
        folder = models_dir / f"{name_or_path.removeprefix('builtin:')}-seed{builtin_seed}"
        if not folder.exists():
            with staged_dir(folder) as tmp:
                create_builtin(name_or_path, tmp, builtin_seed)
    elif Path(name_or_path).expanduser().exists():
        folder = Path(name_or_path).expanduser().resolve()
    elif name_or_path.startswith(("/", ".", "~")) or not _HUB_ID.match(name_or_path):
        raise ModelLoadError(f"{name_or_path!r}: no such folder, and not a hub id (org/name) or builtin:tiny")
    else:
        folder = resolve_hub_snapshot(name_or_path, revision or None, allow_download)
    check_model_folder(folder)
    return folder
