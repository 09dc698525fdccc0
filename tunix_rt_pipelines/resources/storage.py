"""`ProjectStorage`: where datasets are read from and where artifacts are written.

Artifacts (checkpoints, predictions, evaluations, sweeps) live under `artifacts_dir` in
content- or run-addressed folders; assets pass small references to them, never the weights.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from tunix_rt_pipelines import environment


class ProjectStorage(dg.ConfigurableResource):
    """Dataset and artifact locations (defaults: the repo's `datasets/` and `.tunix_rt/artifacts`)."""

    datasets_dir: str = Field(default="", description="Folder holding one sub-folder per dataset key. Empty: the repository's datasets/.")
    artifacts_dir: str = Field(default="", description="Root for checkpoints, predictions and evaluations. Empty: <project home>/artifacts.")

    def datasets_path(self) -> Path:
        return Path(self.datasets_dir).resolve() if self.datasets_dir else environment.datasets_dir()

    def dataset_path(self, key: str) -> Path:
        return self.datasets_path() / key

    def artifacts_path(self, *parts: str) -> Path:
        root = Path(self.artifacts_dir).resolve() if self.artifacts_dir else environment.project_home() / "artifacts"
        return root.joinpath(*parts)
