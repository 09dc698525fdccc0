"""`model_registry`: where promoted models, their metrics and their aliases live.

- `ModelRegistryResource`: the interface assets use (promote, gate, read, export).
- `SqlModelRegistry`: the real one, on SQLAlchemy: a SQLite file in the project home by default,
  PostgreSQL from `$TUNIX_RT_REGISTRY_URL` in production.
- `EphemeralModelRegistry`: the fake, a throwaway registry in a temporary folder that lives as
  long as the process; the same code path, so it honours the same contract.

Each process opens one `Registry` per configuration and reuses it (an engine is a pool).
"""

import atexit
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from pathlib import Path

import dagster as dg
from pydantic import Field

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.lib.registry.candidate import PromotionCandidate
from tunix_rt_pipelines.lib.registry.gate import GateVerdict
from tunix_rt_pipelines.lib.registry.promote import PromotionResult, gate, promote
from tunix_rt_pipelines.lib.registry.registry import STORE_ENV, Registry, default_root, open_registry
from tunix_rt_pipelines.lib.registry.rules import Pins
from tunix_rt_pipelines.lib.registry.store import URL_ENV, resolve_url
from tunix_rt_pipelines.lib.registry.versions import ModelVersion, Page

_OPEN: dict[tuple, Registry] = {}
_OPEN_LOCK = threading.Lock()


def _cached(key: tuple, make) -> Registry:
    key = (os.getpid(), *key)  # an engine must not cross a fork
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = make()
        return _OPEN[key]


class ModelRegistryResource(dg.ConfigurableResource, ABC):
    """The model registry: guarded promotion, versions, aliases, leaderboard and export."""

    datasets_dir: str = Field(default="", description="Folder with the eval sets' manifest.json (their pinned hashes; the primary "
                                                      "set's decides promotion), looked in before ./datasets. Empty: "
                                                      "$TUNIX_RT_DATASETS_DIR, else the built-in datasets.")

    @abstractmethod
    def open(self) -> Registry:
        """The registry this resource points at, schema ready."""

    def _datasets_path(self) -> Path:
        return Path(self.datasets_dir).resolve() if self.datasets_dir else environment.datasets_dir()

    def pins(self) -> Pins:
        return self.open().pins()

    def promote(self, candidate: PromotionCandidate, *, force: bool = False) -> PromotionResult:
        """Register `candidate` (guarded, idempotent); see `defs/registry/promote.py`."""
        return promote(self.open(), candidate, force=force)

    def gate(self, candidate: PromotionCandidate) -> GateVerdict:
        """Would `candidate` replace the champion? Read-only."""
        return gate(self.open(), candidate)

    def get(self, name: str, ref: str | int) -> ModelVersion:
        return self.open().get(name, ref)

    def leaderboard(self, name: str | None = None, *, limit: int = 50, offset: int = 0) -> Page[ModelVersion]:
        return self.open().leaderboard(name, limit=limit, offset=offset)

    def export(self, name: str, ref: str | int, dest: Path, adapter_only: bool = False) -> tuple[ModelVersion, int]:
        return self.open().export(name, ref, dest, adapter_only)


class SqlModelRegistry(ModelRegistryResource):
    """The registry on SQLite (default, local) or PostgreSQL (production)."""

    url: str = Field(default="", description=f"SQLAlchemy URL. Empty: ${URL_ENV} when set (required in production), "
                                             "else sqlite:///<project home>/registry.db.")
    storage_dir: str = Field(default="", description=f"Root of the content-addressed file store. Empty: ${STORE_ENV} when set "
                                                     "(a shared filesystem in production), else <project home>/registry.")
    auto_migrate: bool = Field(default=True, description="Create or upgrade the schema on first use. Off in production: "
                                                         "run `tunix-rt registry migrate` as a deliberate step.")

    def storage_path(self) -> Path:
        return Path(self.storage_dir).resolve() if self.storage_dir else default_root()

    def open(self) -> Registry:
        url, root, datasets = resolve_url(self.url), self.storage_path(), self._datasets_path()
        return _cached((url, root, datasets), lambda: open_registry(url, root, datasets, auto_migrate=self.auto_migrate))


class EphemeralModelRegistry(ModelRegistryResource):
    """A throwaway registry (SQLite + files in a temporary folder) for tests and dry runs."""

    key: str = Field(default="default", description="Resources with the same key share one registry within a process.")

    def open(self) -> Registry:
        def make() -> Registry:
            folder = Path(tempfile.mkdtemp(prefix=f"tunix-registry-{self.key}-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            return open_registry(f"sqlite:///{folder / 'registry.db'}", folder / "store", self._datasets_path())

        return _cached(("ephemeral", self.key, self._datasets_path()), make)
