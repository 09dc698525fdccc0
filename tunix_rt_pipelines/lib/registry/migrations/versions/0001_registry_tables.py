"""The registry's tables: model names, versions, aliases and alias moves (legacy schema v1).

Revision ID: 0001
Revises: (none)

Exactly the schema the pre-Alembic registry created as v1, frozen here (not imported from
`tables.py`), plus the legacy version table with its row 1. A database that pre-Alembic code
left at v1 is stamped at this revision instead of running it (see `schema.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only
_When = sa.DateTime(timezone=True)


def upgrade() -> None:
    legacy = op.create_table(
        "registry_schema_version",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("applied_at", _When, nullable=False),
    )
    op.create_table(
        "model_names",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("last_version", sa.Integer, nullable=False),
        sa.Column("created_at", _When, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), sa.ForeignKey("model_names.name"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source_asset", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("data_version", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("artifact_uri", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Double, nullable=True),
        sa.Column("n", sa.Integer, nullable=True),
        sa.Column("correct", sa.Integer, nullable=True),
        sa.Column("ci95_low", sa.Double, nullable=True),
        sa.Column("ci95_high", sa.Double, nullable=True),
        sa.Column("by_category", sa.JSON, nullable=True),
        sa.Column("evaluation_uri", sa.Text, nullable=True),
        sa.Column("evaluation_sha256", sa.String(64), nullable=True),
        sa.Column("dataset_key", sa.String(200), nullable=False),
        sa.Column("dataset_sha256", sa.String(64), nullable=False),
        sa.Column("evaluator", sa.String(100), nullable=False),
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        sa.Column("training_config", sa.JSON, nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.Column("promoted_by", sa.String(200), nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("overridden", sa.JSON, nullable=False),
        sa.Column("gate", sa.JSON, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
        sa.UniqueConstraint("name", "sha256", name="uq_model_versions_name_sha256"),
    )
    op.create_table(
        "model_aliases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("alias", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _When, nullable=False),
        sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], name="fk_alias_version"),
    )
    op.create_table(
        "alias_moves",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("moved_at", _When, nullable=False),
        sa.Column("moved_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.bulk_insert(legacy, [{"version": 1, "description": "model names, versions, aliases and alias moves",
                             "applied_at": datetime.now(UTC)}])


def downgrade() -> None:
    # Dependants first: aliases point at versions, versions at names.
    for table in ("alias_moves", "model_aliases", "model_versions", "model_names", "registry_schema_version"):
        op.drop_table(table)
