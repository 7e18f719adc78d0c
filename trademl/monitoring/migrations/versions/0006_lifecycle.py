"""The retraining lifecycle: trigger decisions, jobs and scheduler leases.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "retrain_decisions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("trigger", sa.String(30), nullable=False),
        sa.Column("fired", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("job_id", sa.BigInteger),
    )
    op.create_index("ix_retrain_decisions_model_ts", "retrain_decisions", ["model", "ts"])
    op.create_table(
        "retrain_jobs",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(15), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("champion_version", sa.String(50)),
        sa.Column("challenger_version", sa.String(50)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_retrain_jobs_model_state", "retrain_jobs", ["model", "state"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_ns", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_retrain_jobs_model_state", "retrain_jobs")
    op.drop_table("retrain_jobs")
    op.drop_index("ix_retrain_decisions_model_ts", "retrain_decisions")
    op.drop_table("retrain_decisions")
