"""Which datasets a project uses: declared in `tunix_rt.yaml`, not coded.

```yaml
datasets:
  eval_sets: [golden-v1, my-evals-v1]   # the first is the primary set: it decides promotion
  training_set: my-traces-v1
```

No file (or no `datasets:` block) means golden-v1 and reasoning-traces-v2 (the built-in sets). The
primary (first) eval set feeds the main chain (`base_predictions` -> `base_vs_trained` -> promotion)
and the registry's pinned hash (its manifest); the asset keys stay `base_predictions`, ... whichever set
it is. golden-v1 stays an asset either way: the judge's calibration is built on it (the lock is per
metric, not per set). Every further eval set gets its own dataset asset, checks, predictions,
evaluations and comparison (factories beside each concern's assets in `defs/`), its score is kept on
each registry version, and the contamination check covers every eval set against the training set.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.lib.datasets.contract import GOLDEN_KEY, TRACES_V2_KEY

DatasetKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]


class DeclarationError(ValueError):
    """`tunix_rt.yaml` cannot be used; the message names the file, the line when known, and the fix."""


class DeclaredDatasets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    eval_sets: list[DatasetKey] = Field(default=[GOLDEN_KEY], min_length=1, description="Eval set keys; the first is the primary set.")
    training_set: DatasetKey = Field(default=TRACES_V2_KEY, description="The trace set every fine-tune trains on.")

    @model_validator(mode="after")
    def _usable(self) -> DeclaredDatasets:
        if len(set(self.eval_sets)) != len(self.eval_sets):
            raise ValueError("an eval set is listed twice")
        if self.training_set in self.eval_sets:
            raise ValueError(f"{self.training_set} is declared both as an eval set and as the training set")
        if len({asset_name(k) for k in self.eval_sets}) != len(self.eval_sets):
            raise ValueError("two eval set keys differ only in '-' vs '_' and would share asset names")
        return self

    @property
    def primary(self) -> str:
        """The primary eval set: it feeds the main chain and decides promotion."""
        return self.eval_sets[0]

    @property
    def non_golden_sets(self) -> list[str]:
        """Every declared eval set but golden-v1, in order (golden-v1's dataset asset always exists, for the judge)."""
        return [k for k in self.eval_sets if k != GOLDEN_KEY]

    @property
    def extra_eval_sets(self) -> list[str]:
        """The eval sets after the primary one."""
        return self.eval_sets[1:]


def asset_name(key: str) -> str:
    """The asset name for dataset `key`: golden-v1 -> golden_v1."""
    return re.sub(r"[^a-z0-9_]", "_", key)


def read_declaration(path: Path) -> DeclaredDatasets:
    """The `datasets:` block of a project file (YAML or JSON; no file: the defaults); errors name the file and line."""
    from tunix_rt_pipelines.lib.config_file import ConfigFileError, read_config_file

    if not path.exists():
        return DeclaredDatasets()
    try:
        document = read_config_file(path)
    except ConfigFileError as exc:
        raise DeclarationError(str(exc)) from None
    unknown = sorted(set(document) - {"datasets"})
    if unknown:
        raise DeclarationError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; this file holds `datasets:`")
    try:
        return DeclaredDatasets.model_validate(document.get("datasets") or {})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(["datasets", *(str(p) for p in first["loc"])])
        raise DeclarationError(f"{path}: {field}: {first['msg']}".replace("Value error, ", "")) from None


def primary_asset() -> str:
    """The primary eval set's dataset asset (golden_v1 by default): what the main chain's predictions and evaluations read."""
    return asset_name(declared_datasets().primary)


_declared = functools.cache(read_declaration)  # once per process and path


def declared_datasets() -> DeclaredDatasets:
    """The project's declaration (`environment.project_file()`), read once per process."""
    return _declared(environment.project_file())
