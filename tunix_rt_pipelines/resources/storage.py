"""`ProjectStorage`: where datasets are read, where artifacts are written, and how a step finds
what the steps before it wrote.

No Python object crosses a step boundary. Each asset writes its files under the artifact root
and records a `Pointer` (path relative to the root + sha256) in its materialization metadata
(`artifact_path`, `artifact_sha256`). A downstream asset depends on it with `deps=[...]` and
reads that pointer back from the instance's event log: the materialization made in the same run
when there is one, else the latest (a re-evaluation run that reuses a checkpoint made earlier).
The event log is Dagster's own database, so the same lookup works from a run worker on another
machine that shares the database and mounts the artifact root. docs/architecture.md says why
this beats a pickling (or JSON) IO manager here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.lib.datasets.refs import DatasetRef
from tunix_rt_pipelines.lib.pointer import Pointer, pointer_to

PATH_KEY, SHA256_KEY, LOCATION_KEY = "artifact_path", "artifact_sha256", "location"
DATASET_KEYS = ("dataset_key", "dataset_kind", "sha256", "dagster/row_count")


def materialization(instance: dg.DagsterInstance, key: dg.AssetKey | str, run_id: str | None = None) -> dg.EventLogRecord | None:
    """The materialization of `key` made in run `run_id` (its last one), else the latest, else None."""
    key = dg.AssetKey.from_coercible(key)
    if run_id:
        records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        mine = [r for r in records if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.asset_key == key]
        if mine:
            return mine[-1]
    found = instance.fetch_materializations(key, limit=1).records
    return found[0] if found else None


def data_version(record: dg.EventLogRecord | None) -> str | None:
    """The data version a materialization recorded (None for no materialization)."""
    if record is None or record.asset_materialization is None:
        return None
    return record.asset_materialization.tags.get("dagster/data_version")


def _pointer_in(meta: Mapping[str, dg.MetadataValue], key: str) -> Pointer:
    """The pointer asset `key`'s materialization metadata records."""
    if PATH_KEY not in meta or SHA256_KEY not in meta:
        raise dg.Failure(description=f"{key}'s latest materialization records no artifact pointer (made by an older version "
                                     "of this project?); re-materialize it", allow_retries=False)
    return Pointer(path=str(meta[PATH_KEY].value), sha256=str(meta[SHA256_KEY].value))


class UpstreamMissing(Exception):
    """An input asset has never been materialized, or its materialization carries no pointer."""


class ProjectStorage(dg.ConfigurableResource):
    """Dataset and artifact locations (defaults: the package's built-in datasets and `<project home>/artifacts`)."""

    datasets_dir: str = Field(default="", description=f"Folder holding one sub-folder per dataset key. Empty: ${environment.DATASETS_ENV}, "
                                                      "else ./datasets for a key found there, else the built-in datasets.")
    artifacts_dir: str = Field(default="", description="Root for checkpoints, predictions and evaluations (shared storage when steps run "
                                                       "on other machines). Empty: <project home>/artifacts.")

    # --- locations
    def datasets_path(self) -> Path:
        return Path(self.datasets_dir).resolve() if self.datasets_dir else environment.datasets_dir()

    def dataset_path(self, key: str) -> Path:
        return Path(self.datasets_dir).resolve() / key if self.datasets_dir else environment.dataset_folder(key)

    def artifacts_root(self) -> Path:
        return Path(self.artifacts_dir).resolve() if self.artifacts_dir else environment.project_home() / "artifacts"

    def artifacts_path(self, *parts: str) -> Path:
        return self.artifacts_root().joinpath(*parts)

    # --- writing pointers
    def pointer(self, path: Path, sha256: str) -> Pointer:
        return pointer_to(path, self.artifacts_root(), sha256)

    def pointer_metadata(self, path: Path, sha256: str) -> dict[str, dg.MetadataValue]:
        """The metadata entries a downstream step reads back: the pointer, and where it was for the UI."""
        pointer = self.pointer(path, sha256)
        return {PATH_KEY: dg.MetadataValue.text(pointer.path), SHA256_KEY: dg.MetadataValue.text(pointer.sha256),
                LOCATION_KEY: dg.MetadataValue.path(str(Path(path).resolve()))}

    # --- reading what upstream wrote
    def upstream_metadata(self, context: Any, key: str) -> Mapping[str, dg.MetadataValue]:
        """The metadata of input asset `key` as this step sees it (this run's materialization, else the latest).

        Raises:
            dg.Failure: `key` was never materialized.
        """
        record = materialization(context.instance, key, context.run.run_id)
        if record is None or record.asset_materialization is None:
            raise dg.Failure(description=f"{key} has never been materialized; materialize it first (or run the whole job)",
                             allow_retries=False)
        return record.asset_materialization.metadata

    def upstream(self, context: Any, key: str) -> Pointer:
        """The pointer input asset `key` recorded."""
        return _pointer_in(self.upstream_metadata(context, key), key)

    def upstream_path(self, context: Any, key: str) -> Path:
        return self.upstream(context, key).resolve(self.artifacts_root())

    def upstream_dataset_pointer(self, context: Any, key: str) -> tuple[DatasetRef, Pointer]:
        """Which dataset version input asset `key` recorded, and the pointer to its snapshot (one event-log read)."""
        meta = self.upstream_metadata(context, key)
        ref = DatasetRef(key=str(meta["dataset_key"].value), kind=meta["dataset_kind"].value, sha256=str(meta["sha256"].value),
                         count=int(meta["dagster/row_count"].value))
        return ref, _pointer_in(meta, key)

    def upstream_dataset(self, context: Any, key: str) -> tuple[DatasetRef, Path]:
        """Which dataset version input asset `key` recorded, and the folder of its snapshot under the artifact root."""
        ref, pointer = self.upstream_dataset_pointer(context, key)
        return ref, pointer.resolve(self.artifacts_root())
