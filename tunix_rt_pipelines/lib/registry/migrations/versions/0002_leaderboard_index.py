"""The leaderboard index (legacy schema v2).

Revision ID: 0002
Revises: 0001

The leaderboard pages through every version in the spec's "best" order; this index serves it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The legacy version table as this revision sees it (frozen: only the columns it writes).
_legacy = sa.table("registry_schema_version", sa.column("version", sa.Integer), sa.column("description", sa.Text),
                   sa.column("applied_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.create_index("ix_model_versions_leaderboard", "model_versions", ["score", "ci95_low", "n", "created_at"])
    op.bulk_insert(_legacy, [{"version": 2, "description": "leaderboard index", "applied_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.execute(_legacy.delete().where(_legacy.c.version == 2))
    op.drop_index("ix_model_versions_leaderboard", table_name="model_versions")
