"""Versions by primary eval set: an index on `model_versions (name, dataset_key, dataset_sha256)`.

Revision ID: 0005
Revises: 0004

Every version already records the primary eval set it was scored on (`dataset_key` and the set's
content `dataset_sha256`, since 0001). Once the primary set is declared (`tunix_rt.yaml`) rather
than always golden-v1, promotion compares a candidate only with versions scored on the same primary
set, and the registry looks versions up by that pair; this index serves those lookups. No data
changes: the columns and their values stay as they were.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEX = "ix_model_versions_primary_set"


def upgrade() -> None:
    op.create_index(INDEX, "model_versions", ["name", "dataset_key", "dataset_sha256"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="model_versions")
