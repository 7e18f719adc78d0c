"""Initial monitoring schema: predictions, outcomes, metric snapshots, drift, alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("prediction", sa.Float, nullable=False),
        sa.Column("proba", sa.Float),
        sa.Column("signal", sa.Float),
        sa.Column("features_hash", sa.String(64)),
        sa.Column("features", sa.Text),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_predictions_model_ts", "predictions", ["model", "ts"])
    op.create_table(
        "outcomes",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("label", sa.Float),
        sa.Column("realized_return", sa.Float),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("model", "symbol", "ts", name="uq_outcomes_key"),
    )
    op.create_table(
        "metric_snapshots",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_metric_snapshots_model_kind",
        "metric_snapshots",
        ["model", "version", "kind", "window_end"],
    )
    op.create_table(
        "drift_results",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("n_features", sa.Integer, nullable=False),
        sa.Column("n_drifted", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("share_pvalue", sa.Float, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )
    op.create_index("ix_drift_results_model_created", "drift_results", ["model", "created_ns"])
    op.create_table(
        "alerts",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(250), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("state", sa.String(15), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("first_ns", sa.BigInteger, nullable=False),
        sa.Column("last_ns", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("escalated_ns", sa.BigInteger),
        sa.Column("acked_by", sa.String(100)),
        sa.Column("acked_ns", sa.BigInteger),
        sa.Column("resolved_by", sa.String(100)),
        sa.Column("resolved_ns", sa.BigInteger),
    )
    op.create_index("ix_alerts_fingerprint_state", "alerts", ["fingerprint", "state"])
    op.create_table(
        "alert_events",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", _Id, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(50)),
        sa.Column("actor", sa.String(100)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_alert_events_alert", "alert_events", ["alert_id"])
    op.create_index("ix_alert_events_channel_ts", "alert_events", ["channel", "event", "ts"])


def downgrade() -> None:
    for table in (
        "alert_events",
        "alerts",
        "drift_results",
        "metric_snapshots",
        "outcomes",
        "predictions",
    ):
        op.drop_table(table)
