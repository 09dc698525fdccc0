"""The registry's tables: the shape the code reads and writes (SQLAlchemy Core, SQLite and PostgreSQL).

These definitions are the target of the Alembic revisions in `migrations/versions/`: a database at
head has exactly this shape (`test_schema.py` compares the two). Rule for editing: a change here
ships together with a new revision that brings an existing database to the same shape; a revision
never imports these objects (it freezes its own copy), so old revisions keep meaning what they meant.

`registry_schema_version` is the hand-written version table the registry used before Alembic. It
stays: an older tunix-rt-pipelines reads its highest version and refuses a database newer than
itself, so the Alembic revisions keep recording there ("3: managed by Alembic from here on").
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

# The legacy version table (see above): one row per applied version, with when and what.
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

# Revision 0004: every declared eval set's score on a version, one row per (version, set). The primary
# set's row repeats the metrics on `model_versions` (which rank the leaderboard); further sets only live here.
version_eval_scores = sa.Table(
    "version_eval_scores", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("dataset_key", sa.String(200), primary_key=True),
    sa.Column("is_primary", sa.Boolean, nullable=False),  # the set that decided promotion (the first declared)
    sa.Column("dataset_sha256", sa.String(64), nullable=False),
    sa.Column("evaluator", sa.String(100), nullable=False),
    sa.Column("spec_sha256", sa.String(64), nullable=False),
    sa.Column("score", sa.Double, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("correct", sa.Integer, nullable=False),
    sa.Column("ci95_low", sa.Double, nullable=False),
    sa.Column("ci95_high", sa.Double, nullable=False),
    sa.Column("by_category", sa.JSON, nullable=True),
    sa.Column("evaluation_uri", sa.Text, nullable=True),  # the stored copy of that set's evaluation.json
    sa.Column("evaluation_sha256", sa.String(64), nullable=True),
    sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], name="fk_eval_score_version"),
)

# Revision 0002 (legacy v2): the leaderboard pages through every version in the spec's "best" order.
leaderboard_index = sa.Index("ix_model_versions_leaderboard", model_versions.c.score, model_versions.c.ci95_low,
                             model_versions.c.n, model_versions.c.created_at)
# Revision 0005: versions by the primary eval set they were scored on (the gate compares only within one).
primary_set_index = sa.Index("ix_model_versions_primary_set", model_versions.c.name, model_versions.c.dataset_key,
                             model_versions.c.dataset_sha256)
