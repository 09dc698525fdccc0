"""The registry's tables and their versioned, explicit schema upgrades (SQLite and PostgreSQL).

Why not Alembic: the registry has four tables and one code path that opens it (this package,
from Dagster, the CLI and sweep workers alike). Alembic would add an env.py, a script folder
and an ini-style config, and it does not serialise two processes that upgrade the same empty
database at once. The scheme here is the one Alembic documents for new databases ("create_all,
then stamp head") plus ordered deltas for old ones:

- `registry_schema_version` records every applied version (with when and what).
- An empty database gets the current tables in one transaction and is stamped `SCHEMA_VERSION`.
- An older database gets each missing delta in `MIGRATIONS`, in order, each with its version row,
  all in one transaction. A newer database is refused (old code must not write to it).
- The upgrade runs under a write lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL
  `pg_advisory_xact_lock`), so concurrent first uses cannot race; DDL is transactional on both.

Rule for editing: a table definition below changes only together with a new delta that brings an
existing database to the same shape; `test_schema.py` checks that both paths agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

SCHEMA_VERSION = 2
_ADVISORY_LOCK_KEY = 0x7475_6E69_7872  # "tunixr": one lock id for registry schema upgrades

metadata = sa.MetaData()
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

schema_versions = sa.Table(
    "registry_schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per model name: the version counter, so version numbers are never reused.
model_names = sa.Table(
    "model_names", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("last_version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

model_versions = sa.Table(
    "model_versions", metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), sa.ForeignKey("model_names.name"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # provenance
    sa.Column("source_asset", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("data_version", sa.String(200), nullable=False),
    # the artifact: an immutable, content-addressed copy
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("artifact_uri", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    # metrics snapshot (NULL when a forced version had no usable evaluation)
    sa.Column("score", sa.Double, nullable=True),
    sa.Column("n", sa.Integer, nullable=True),
    sa.Column("correct", sa.Integer, nullable=True),
    sa.Column("ci95_low", sa.Double, nullable=True),
    sa.Column("ci95_high", sa.Double, nullable=True),
    sa.Column("by_category", sa.JSON, nullable=True),
    sa.Column("evaluation_uri", sa.Text, nullable=True),  # per-item results, for the regression gate
    sa.Column("evaluation_sha256", sa.String(64), nullable=True),
    sa.Column("dataset_key", sa.String(200), nullable=False),
    sa.Column("dataset_sha256", sa.String(64), nullable=False),
    sa.Column("evaluator", sa.String(100), nullable=False),
    sa.Column("spec_sha256", sa.String(64), nullable=False),
    sa.Column("training_config", sa.JSON, nullable=False),
    # who, when, and which guards were overridden
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("promoted_by", sa.String(200), nullable=False),
    sa.Column("forced", sa.Boolean, nullable=False),
    sa.Column("overridden", sa.JSON, nullable=False),  # guard failures force=True overrode
    sa.Column("gate", sa.JSON, nullable=False),  # the regression-gate verdict at promotion time
    sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    sa.UniqueConstraint("name", "sha256", name="uq_model_versions_name_sha256"),  # idempotent promotion
)

model_aliases = sa.Table(
    "model_aliases", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("alias", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], name="fk_alias_version"),
)

# Every alias move, for "who made v7 champion, when, and why".
alias_moves = sa.Table(
    "alias_moves", metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("alias", sa.String(100), nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=False),
    sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("moved_by", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

# v2: the leaderboard pages through every version in the spec's "best" order.
leaderboard_index = sa.Index("ix_model_versions_leaderboard", model_versions.c.score, model_versions.c.ci95_low,
                             model_versions.c.n, model_versions.c.created_at)

DESCRIPTIONS = {1: "model names, versions, aliases and alias moves", 2: "leaderboard index"}
# Deltas: MIGRATIONS[v] brings a database at v - 1 to v.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {
    2: lambda conn: leaderboard_index.create(conn),
}


class SchemaError(Exception):
    """The database's schema cannot be used by this code; the message says what to do."""


def current_version(conn: sa.Connection) -> int:
    """The highest applied schema version (0 for an empty database)."""
    if not sa.inspect(conn).has_table(schema_versions.name):
        return 0
    return conn.execute(sa.select(sa.func.max(schema_versions.c.version))).scalar() or 0


def _stamp(conn: sa.Connection, version: int) -> None:
    conn.execute(schema_versions.insert().values(version=version, description=DESCRIPTIONS[version], applied_at=datetime.now(UTC)))


def upgrade(conn: sa.Connection) -> tuple[int, int]:
    """Bring the schema to `SCHEMA_VERSION` inside the caller's (write-locked) transaction.

    Returns:
        `(version before, version after)`.

    Raises:
        SchemaError: The database is newer than this code.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    before = current_version(conn)
    if before > SCHEMA_VERSION:
        raise SchemaError(f"the registry database is at schema v{before}, newer than this code (v{SCHEMA_VERSION}); "
                          "upgrade tunix-rt-pipelines before using it")
    if before == 0:
        metadata.create_all(conn)
        for version in range(1, SCHEMA_VERSION + 1):
            _stamp(conn, version)
    else:
        for version in range(before + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](conn)
            _stamp(conn, version)
    return before, SCHEMA_VERSION
