"""Hand the schema over to Alembic: legacy version row 3, no DDL.

Revision ID: 0003
Revises: 0002

Pre-Alembic tunix-rt-pipelines (legacy schema v2) refuses to write to a database whose highest
`registry_schema_version` is newer than its own. This row makes it refuse one that this code has
migrated, instead of writing to a schema it no longer knows. Later revisions need no legacy rows:
3 already stops every pre-Alembic release.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_legacy = sa.table("registry_schema_version", sa.column("version", sa.Integer), sa.column("description", sa.Text),
                   sa.column("applied_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.bulk_insert(_legacy, [{"version": 3, "description": "schema managed by Alembic from here on", "applied_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.execute(_legacy.delete().where(_legacy.c.version == 3))
