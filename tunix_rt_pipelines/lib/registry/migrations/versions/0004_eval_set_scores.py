"""Every declared eval set's score on a version: the `version_eval_scores` table.

Revision ID: 0004
Revises: 0003

A version used to record only the primary set's metrics (on `model_versions`). This table holds
one row per (version, eval set): the primary set's row (`is_primary`) and one per further set
declared in `tunix_rt.yaml`, each with its dataset hash, evaluator, spec hash, metrics and the
stored copy of its evaluation.json. Existing versions get their primary row from the columns they
already have (versions promoted with force and no usable evaluation have no metrics, so no row).
No legacy version row: 3 already stops every pre-Alembic release (see 0003).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_METRICS = ("dataset_sha256", "evaluator", "spec_sha256", "score", "n", "correct", "ci95_low", "ci95_high", "by_category",
            "evaluation_uri", "evaluation_sha256")
# model_versions as this revision sees it (frozen: only the columns it copies).
_versions = sa.table("model_versions", sa.column("name", sa.String), sa.column("version", sa.Integer), sa.column("dataset_key", sa.String),
                     *(sa.column(c) for c in _METRICS))


def upgrade() -> None:
    scores = op.create_table(
        "version_eval_scores",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("dataset_key", sa.String(200), primary_key=True),
        sa.Column("is_primary", sa.Boolean, nullable=False),
        sa.Column("dataset_sha256", sa.String(64), nullable=False),
        sa.Column("evaluator", sa.String(100), nullable=False),
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        sa.Column("score", sa.Double, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("correct", sa.Integer, nullable=False),
        sa.Column("ci95_low", sa.Double, nullable=False),
        sa.Column("ci95_high", sa.Double, nullable=False),
        sa.Column("by_category", sa.JSON, nullable=True),
        sa.Column("evaluation_uri", sa.Text, nullable=True),
        sa.Column("evaluation_sha256", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], name="fk_eval_score_version"),
    )
    columns = ["name", "version", "dataset_key", "is_primary", *_METRICS]
    select = sa.select(_versions.c.name, _versions.c.version, _versions.c.dataset_key, sa.true(), *(_versions.c[c] for c in _METRICS))
    complete = [_versions.c[c].is_not(None) for c in ("score", "n", "correct", "ci95_low", "ci95_high")]
    op.execute(scores.insert().from_select(columns, select.where(*complete)))


def downgrade() -> None:
    op.drop_table("version_eval_scores")
