"""Feature impact over time: mean |SHAP| per feature per month, its share of the total and
whether that share moved beyond the threshold from the reference (``trademl explain``).

Idempotent: a table that already exists (an interrupted run on a database without
transactional DDL) is left as it is.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if "feature_impact" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "feature_impact",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("period", sa.BigInteger, nullable=False),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("mean_abs_shap", sa.Float, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("reference_share", sa.Float, nullable=False),
        sa.Column("drifted", sa.Boolean, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            "model", "version", "source", "period", "feature", name="uq_feature_impact_key"
        ),
    )
    op.create_index("ix_feature_impact_model", "feature_impact", ["model", "created_ns"])


def downgrade() -> None:
    if "feature_impact" in sa.inspect(op.get_bind()).get_table_names():
        op.drop_table("feature_impact")
