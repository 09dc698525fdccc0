"""Where this code location runs and where it keeps its files.

A leaf module (it imports nothing from the project), read by every layer:

- `get_environment()`: "local" (default), "ci" (the CI variable is set) or "prod"
  (`TUNIX_RT_ENV=prod`). `defs/resources.py` binds resources once per environment.
- `project_home()`: the folder for the Dagster instance (SQLite), artifacts and the model
  registry: `$TUNIX_RT_HOME`, else `.tunix_rt/` in the current directory (like Dagster's own
  home, it belongs to the project you run from, never to the installed package).
- `datasets_dir()`: `$TUNIX_RT_DATASETS_DIR`, else the built-in datasets shipped inside the
  package (`tunix_rt_pipelines/builtin_datasets/`), so an installed wheel needs no checkout.
- `project_datasets_dir()`: where `tunix-rt dataset import` writes: `$TUNIX_RT_DATASETS_DIR`, else
  `datasets/` in the current directory; `dataset_folder(key)` finds a key there first, then among
  the built-in datasets.
- `project_file()`: `$TUNIX_RT_PROJECT_FILE`, else `tunix_rt.yaml` in the current directory: which
  datasets the project uses (`lib/datasets/declared.py`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

Environment = Literal["local", "ci", "prod"]

HOME_ENV = "TUNIX_RT_HOME"
DATASETS_ENV = "TUNIX_RT_DATASETS_DIR"
PROJECT_FILE_ENV = "TUNIX_RT_PROJECT_FILE"
BUILTIN_DATASETS_DIR = Path(__file__).resolve().parent / "builtin_datasets"


def get_environment() -> Environment:
    env = os.environ.get("TUNIX_RT_ENV", "").strip().lower()
    if env in ("local", "ci", "prod"):
        return env  # type: ignore[return-value]
    return "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "local"


def project_home() -> Path:
    """`$TUNIX_RT_HOME`, else `./.tunix_rt` (the `tunix-rt` commands export the value they resolved)."""
    return Path(os.environ.get(HOME_ENV) or Path.cwd() / ".tunix_rt").resolve()


def dagster_home() -> Path:
    """`$DAGSTER_HOME` when set, else `<project home>/dagster_home`."""
    return Path(os.environ.get("DAGSTER_HOME") or project_home() / "dagster_home").resolve()


def datasets_dir() -> Path:
    """`$TUNIX_RT_DATASETS_DIR`, else the built-in datasets inside the package."""
    return Path(os.environ.get(DATASETS_ENV) or BUILTIN_DATASETS_DIR).resolve()


def project_datasets_dir() -> Path:
    """The project's own datasets: `$TUNIX_RT_DATASETS_DIR`, else `./datasets` (where imports go)."""
    return Path(os.environ.get(DATASETS_ENV) or Path.cwd() / "datasets").resolve()


def dataset_folder(key: str) -> Path:
    """Dataset `key`: the project's own folder when it has one, else the built-in one (which may not exist)."""
    own = project_datasets_dir() / key
    return own if own.is_dir() or os.environ.get(DATASETS_ENV) else BUILTIN_DATASETS_DIR / key


def project_file() -> Path:
    """`$TUNIX_RT_PROJECT_FILE`, else `./tunix_rt.yaml` (it need not exist: then the built-in datasets are used)."""
    return Path(os.environ.get(PROJECT_FILE_ENV) or Path.cwd() / "tunix_rt.yaml").resolve()
