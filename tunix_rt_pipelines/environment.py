"""Where this code location runs and where it keeps its files.

- `get_environment()`: "local" (default), "ci" (the CI variable is set) or "prod"
  (`TUNIX_RT_ENV=prod`). `defs/resources.py` binds resources once per environment.
- `project_home()`: the project-local folder for the Dagster instance (SQLite), artifacts and
  the model registry: `$TUNIX_RT_HOME`, else `.tunix_rt/` in the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

Environment = Literal["local", "ci", "prod"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def get_environment() -> Environment:
    env = os.environ.get("TUNIX_RT_ENV", "").strip().lower()
    if env in ("local", "ci", "prod"):
        return env  # type: ignore[return-value]
    return "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "local"


def project_home() -> Path:
    """`$TUNIX_RT_HOME` or `<repo>/.tunix_rt` (gitignored)."""
    return Path(os.environ.get("TUNIX_RT_HOME") or REPO_ROOT / ".tunix_rt").resolve()


def dagster_home() -> Path:
    """`$DAGSTER_HOME` when set, else `<project home>/dagster_home`."""
    return Path(os.environ.get("DAGSTER_HOME") or project_home() / "dagster_home").resolve()


def datasets_dir() -> Path:
    """`$TUNIX_RT_DATASETS_DIR` or the repository's `datasets/`."""
    return Path(os.environ.get("TUNIX_RT_DATASETS_DIR") or REPO_ROOT / "datasets").resolve()
