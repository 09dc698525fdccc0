"""`Registry`: the model registry as one object over a database URL and a file-store folder.

Dagster-free: the `model_registry` resource, the CLI and sweep workers all build one with
`open_registry(...)`. Thread-safe (one engine, one connection per operation); processes each
open their own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import sqlalchemy as sa

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.lib.registry import versions as q
from tunix_rt_pipelines.lib.registry.artifacts import ArtifactError, export_checkpoint, read_verified
from tunix_rt_pipelines.lib.registry.candidate import PromotionCandidate, check_model_name
from tunix_rt_pipelines.lib.registry.gate import CHAMPION, GateVerdict, regression_gate
from tunix_rt_pipelines.lib.registry.promote import PromotionResult, move_alias, promote
from tunix_rt_pipelines.lib.registry.rules import Pins, all_failures, current_pins
from tunix_rt_pipelines.lib.registry.schema import SCHEMA_VERSION, SchemaError, current_version, model_versions, upgrade
from tunix_rt_pipelines.lib.registry.store import connect, make_engine, safe_url, write_transaction
from tunix_rt_pipelines.lib.registry.versions import AliasMove, ModelVersion, NotFound, Page

STORE_ENV = "TUNIX_RT_REGISTRY_STORE"


def default_root() -> Path:
    """The file store: `$TUNIX_RT_REGISTRY_STORE` (a shared filesystem in production), else `<project home>/registry`."""
    return Path(os.environ.get(STORE_ENV) or environment.project_home() / "registry").resolve()


def uri_path(uri: str) -> Path:
    """The local path of a file:// URI."""
    return Path(url2pathname(urlparse(uri).path))


class Registry:
    """Versions, aliases, the leaderboard, promotion and export over one database and store."""

    def __init__(self, url: str, root: Path, datasets_dir: Path):
        self.engine = make_engine(url)
        self.root = root  # the file store: artifacts/<sha256>/, evaluations/<sha256>.json
        self.datasets_dir = datasets_dir  # where golden-v1's pinned manifest is read

    def __repr__(self) -> str:
        return f"Registry({safe_url(self.engine)}, root={self.root})"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _reading(self, conn: sa.Connection | None = None) -> Iterator[sa.Connection]:
        """`conn` when the caller lends one (it stays open, inside its transaction), else a new one."""
        if conn is not None:
            yield conn
        else:
            with connect(self.engine) as own:
                yield own

    # --- schema
    def schema_version(self) -> int:
        with connect(self.engine) as conn:
            return current_version(conn)

    def migrate(self) -> tuple[int, int]:
        """Create or upgrade the schema to the current version; `(before, after)`."""
        now = self.schema_version()
        return (now, now) if now == SCHEMA_VERSION else write_transaction(self.engine, upgrade)

    def require_schema(self) -> None:
        """Raise `SchemaError` unless the schema is exactly the current version."""
        now = self.schema_version()
        if now != SCHEMA_VERSION:
            state = "empty" if now == 0 else f"at schema v{now}"
            hint = "upgrade tunix-rt-pipelines" if now > SCHEMA_VERSION else "run `tunix-rt registry migrate`"
            raise SchemaError(f"the registry at {safe_url(self.engine)} is {state}, this code needs v{SCHEMA_VERSION}; {hint}")

    # --- promotion and the gate
    def pins(self) -> Pins:
        return current_pins(self.datasets_dir)

    def promote(self, candidate: PromotionCandidate, *, force: bool = False) -> PromotionResult:
        """See `promote.promote`."""
        return promote(self, candidate, force=force)

    def evaluation_of(self, version: ModelVersion | None) -> dict[str, Any] | None:
        """A version's evaluation snapshot (per-item results), None when it has none or it changed."""
        if version is None or not version.evaluation_uri or not version.evaluation_sha256:
            return None
        try:
            return json.loads(read_verified(uri_path(version.evaluation_uri), version.evaluation_sha256))
        except ArtifactError:
            return None

    def gate(self, candidate: PromotionCandidate) -> GateVerdict:
        """Would `candidate` replace the current champion? Read-only."""
        failures, evaluation = all_failures(candidate, self.pins())
        existing = self.find(candidate.model_name, candidate.checkpoint_sha256)
        if existing is not None:
            return self.gate_existing(existing)
        with self._reading() as conn:
            champion = q.aliases(conn, candidate.model_name).get(CHAMPION)
            champion_version = self.find(candidate.model_name, version=champion, conn=conn) if champion else None
        return regression_gate(evaluation, self.evaluation_of(champion_version), champion_version=champion, forced=bool(failures))

    def gate_existing(self, version: ModelVersion, conn: sa.Connection | None = None) -> GateVerdict:
        """The gate for an already registered version against today's champion (nothing moves)."""
        with self._reading(conn) as c:
            champion = q.aliases(c, version.name).get(CHAMPION)
            if champion == version.version:
                return GateVerdict(True, f"v{version.version} is the champion", champion, version.score, version.score)
            champion_version = self.find(version.name, version=champion, conn=c) if champion else None
        return regression_gate(self.evaluation_of(version), self.evaluation_of(champion_version), champion_version=champion,
                               forced=version.forced)

    # --- reads
    def find(self, name: str, sha256: str | None = None, *, version: int | None = None, conn: sa.Connection | None = None) -> ModelVersion | None:
        """The version of `name` with this sha256 or number, or None."""
        where = [model_versions.c.name == name]
        where.append(model_versions.c.sha256 == sha256 if sha256 is not None else model_versions.c.version == version)
        with self._reading(conn) as c:
            row = c.execute(sa.select(model_versions).where(*where)).first()
            return None if row is None else ModelVersion.from_row(row, [a for a, v in q.aliases(c, name).items() if v == row.version])

    def names(self) -> list[str]:
        with connect(self.engine) as conn:
            return q.names(conn)

    def get(self, name: str, ref: str | int) -> ModelVersion:
        """A version by number, alias or `latest`; `NotFound` with what exists otherwise."""
        with connect(self.engine) as conn:
            return q.resolve(conn, name, ref)

    def versions(self, name: str | None = None, *, limit: int = 50, offset: int = 0) -> Page[ModelVersion]:
        """Versions, newest first."""
        with connect(self.engine) as conn:
            return q.page_of_versions(conn, name=name, limit=limit, offset=offset, leaderboard=False)

    def leaderboard(self, name: str | None = None, *, limit: int = 50, offset: int = 0) -> Page[ModelVersion]:
        """One row per version, best first by the spec's order (versions without metrics last)."""
        with connect(self.engine) as conn:
            return q.page_of_versions(conn, name=name, limit=limit, offset=offset, leaderboard=True)

    def aliases(self, name: str) -> dict[str, int]:
        with connect(self.engine) as conn:
            q.require_name(conn, name)
            return q.aliases(conn, name)

    def alias_history(self, name: str) -> list[dict[str, Any]]:
        with connect(self.engine) as conn:
            q.require_name(conn, name)
            return q.alias_history(conn, name)

    # --- writes besides promotion
    def set_alias(self, name: str, alias: str, ref: str | int, *, moved_by: str, reason: str = "moved by hand") -> AliasMove:
        """Point `alias` at a version (atomically, recorded in the alias history)."""
        check_model_name(alias)
        if alias == q.LATEST or alias.isdigit() or (alias[:1] == "v" and alias[1:].isdigit()):
            raise ValueError(f"{alias!r} cannot be an alias: it reads as a version number or the built-in {q.LATEST!r}")

        def work(conn: sa.Connection) -> AliasMove:
            target = q.resolve(conn, name, ref)
            return move_alias(conn, name, alias, target.version, moved_by, reason)

        return write_transaction(self.engine, work)

    # --- files
    def artifact_path(self, version: ModelVersion) -> Path:
        return uri_path(version.artifact_uri)

    def export(self, name: str, ref: str | int, dest: Path) -> tuple[ModelVersion, int]:
        """Copy a version's checkpoint to `dest` (new or empty) and verify its sha256.

        Raises:
            NotFound: Unknown name/version/alias.
            ArtifactError: `dest` not empty, or the registry copy is missing or was tampered with.
        """
        version = self.get(name, ref)
        return version, export_checkpoint(self.artifact_path(version), version.sha256, dest)


def open_registry(url: str, root: Path, datasets_dir: Path, *, auto_migrate: bool = True) -> Registry:
    """A `Registry` whose schema is current: created/upgraded when `auto_migrate`, else checked.

    Raises:
        SchemaError: The schema is not current and `auto_migrate` is off, or it is newer than this code.
        RegistryConnectionError: The database cannot be reached.
    """
    registry = Registry(url, root, datasets_dir)
    try:
        registry.migrate() if auto_migrate else registry.require_schema()
    except BaseException:
        registry.close()
        raise
    return registry


__all__ = ["NotFound", "Registry", "default_root", "open_registry", "uri_path"]
