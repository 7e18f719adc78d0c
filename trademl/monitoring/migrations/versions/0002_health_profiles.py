"""Health history, reference profiles, prediction latency and an index on alert state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # each step is skipped when already done: trademl before 0004 ran these statements
    # outside a transaction, so a killed upgrade could have applied some of them
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    if "latency_ms" not in {c["name"] for c in inspector.get_columns("predictions")}:
        # adding a nullable column keeps every existing prediction row as it was
        with op.batch_alter_table("predictions") as batch:
            batch.add_column(sa.Column("latency_ms", sa.Float))
    if "ix_alerts_state" not in {i["name"] for i in inspector.get_indexes("alerts")}:
        op.create_index("ix_alerts_state", "alerts", ["state"])
    if "health" not in tables:
        _create_health()
    if "reference_profiles" not in tables:
        _create_reference_profiles()


def _create_health() -> None:
    op.create_table(
        "health",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
    )
    op.create_index("ix_health_model_ts", "health", ["model", "ts"])


def _create_reference_profiles() -> None:
    op.create_table(
        "reference_profiles",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.UniqueConstraint("model", "version", "kind", name="uq_reference_profiles_key"),
    )


def downgrade() -> None:
    op.drop_table("reference_profiles")
    op.drop_table("health")
    op.drop_index("ix_alerts_state", "alerts")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("latency_ms")
