"""`Registry`: the model registry as one object over a database URL and a file-store folder.

Reads (versions, aliases, the leaderboard), alias moves and export live here; promotion and the
regression gate, which decide what gets written, are functions over a `Registry` in `promote.py`.

Dagster-free: the `model_registry` resource, the CLI and sweep workers all build one with
`open_registry(...)`. Thread-safe (one engine, one connection per operation); processes each
open their own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import sqlalchemy as sa

from tunix_rt_pipelines import environment
from tunix_rt_pipelines.lib.registry import versions as q
from tunix_rt_pipelines.lib.registry.artifacts import ArtifactError, export_checkpoint, read_verified
from tunix_rt_pipelines.lib.registry.candidate import check_model_name
from tunix_rt_pipelines.lib.registry.rules import Pins, current_pins
from tunix_rt_pipelines.lib.registry.schema import SchemaError, current_revision, head_revision, is_known, newer_than_this_code, upgrade
from tunix_rt_pipelines.lib.registry.store import connect, make_engine, safe_url, write_transaction
from tunix_rt_pipelines.lib.registry.tables import alias_moves, model_aliases, model_versions
from tunix_rt_pipelines.lib.registry.versions import AliasMove, ModelVersion, NotFound, Page, aliases

STORE_ENV = "TUNIX_RT_REGISTRY_STORE"


def default_root() -> Path:
    """The file store: `$TUNIX_RT_REGISTRY_STORE` (a shared filesystem in production), else `<project home>/registry`."""
    return Path(os.environ.get(STORE_ENV) or environment.project_home() / "registry").resolve()


def uri_path(uri: str) -> Path:
    """The local path of a file:// URI."""
    return Path(url2pathname(urlparse(uri).path))


def move_alias(conn: sa.Connection, name: str, alias: str, to_version: int, moved_by: str, reason: str,
               now: datetime | None = None) -> AliasMove:
    """Point `alias` at `to_version` and record the move, inside the caller's write transaction."""
    now = now or datetime.now(UTC)
    before = aliases(conn, name).get(alias)
    if before is None:
        conn.execute(model_aliases.insert().values(name=name, alias=alias, version=to_version, updated_at=now))
    else:
        conn.execute(model_aliases.update().where(model_aliases.c.name == name, model_aliases.c.alias == alias)
                     .values(version=to_version, updated_at=now))
    conn.execute(alias_moves.insert().values(name=name, alias=alias, from_version=before, to_version=to_version, moved_at=now,
                                             moved_by=moved_by, reason=reason))
    return AliasMove(alias, before, to_version, reason)


class Registry:
    """Versions, aliases, the leaderboard, promotion and export over one database and store."""

    def __init__(self, url: str, root: Path, datasets_dir: Path, primary: str | None = None):
        self.engine = make_engine(url)
        self.root = root  # the file store: artifacts/<sha256>/, evaluations/<sha256>.json
        self.datasets_dir = datasets_dir  # where the eval sets' pinned manifests are read first
        self.primary = primary  # the primary eval set's key; None: the one tunix_rt.yaml declares

    def __repr__(self) -> str:
        return f"Registry({safe_url(self.engine)}, root={self.root})"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def reading(self, conn: sa.Connection | None = None) -> Iterator[sa.Connection]:
        """`conn` when the caller lends one (it stays open, inside its transaction), else a new one."""
        if conn is not None:
            yield conn
        else:
            with connect(self.engine) as own:
                yield own

    # --- schema (Alembic revisions, run by schema.py under a write lock)
    def schema_version(self) -> str | None:
        """The database's schema revision (a pre-Alembic one reads as the revision it matches); None when empty."""
        with connect(self.engine) as conn:
            return current_revision(conn)

    def migrate(self) -> tuple[str | None, str | None]:
        """Create, adopt or upgrade the schema to this code's head revision (`alembic upgrade head`).

        Returns:
            `(revision before, revision after)`; equal when it was already current.

        Raises:
            SchemaError: The database is newer than this code.
        """
        return upgrade(self.engine)

    def require_schema(self) -> None:
        """Raise `SchemaError` unless the schema is exactly this code's head revision (writes nothing).

        Raises:
            SchemaError: Empty or older (run `tunix-rt registry migrate`), or newer (upgrade this code).
        """
        now, head = self.schema_version(), head_revision()
        if now == head:
            return
        if now is not None and not is_known(now):
            raise newer_than_this_code(safe_url(self.engine), now)
        state = "empty" if now is None else f"at {now}"
        raise SchemaError(f"the registry at {safe_url(self.engine)} is {state}, this code needs {head}; run `tunix-rt registry migrate`")

    # --- promotion and the gate
    def pins(self) -> Pins:
        return current_pins(self.datasets_dir, self.primary)

    def evaluation_of(self, version: ModelVersion | None) -> dict[str, Any] | None:
        """A version's evaluation snapshot (per-item results), None when it has none or it changed."""
        if version is None or not version.evaluation_uri or not version.evaluation_sha256:
            return None
        try:
            return json.loads(read_verified(uri_path(version.evaluation_uri), version.evaluation_sha256))
        except ArtifactError:
            return None

    # --- reads
    def find(self, name: str, sha256: str | None = None, *, version: int | None = None, conn: sa.Connection | None = None) -> ModelVersion | None:
        """The version of `name` with this sha256 or number, or None."""
        where = [model_versions.c.name == name]
        where.append(model_versions.c.sha256 == sha256 if sha256 is not None else model_versions.c.version == version)
        with self.reading(conn) as c:
            row = c.execute(sa.select(model_versions).where(*where)).first()
            return None if row is None else ModelVersion.load(c, row, [a for a, v in q.aliases(c, name).items() if v == row.version])

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

    def export(self, name: str, ref: str | int, dest: Path, adapter_only: bool = False) -> tuple[ModelVersion, int]:
        """Copy a version's checkpoint (or only its LoRA adapter) to `dest` (new or empty), verified against its sha256.

        Raises:
            NotFound: Unknown name/version/alias.
            ArtifactError: `dest` not empty, the registry copy is missing or was tampered with, or no adapter.
        """
        version = self.get(name, ref)
        return version, export_checkpoint(self.artifact_path(version), version.sha256, dest, adapter_only)


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


__all__ = ["NotFound", "Registry", "default_root", "move_alias", "open_registry", "uri_path"]
