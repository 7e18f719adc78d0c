"""The monitoring store's tables (the head revision of the migrations in ``migrations/``).

Times are int64 nanoseconds since the epoch, UTC (see ``_time``). JSON payloads are
kept as text so the same schema works on SQLite and PostgreSQL. Changing a table here
needs a new migration in ``migrations/versions``; a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "HEAD_REVISION",
    "alert_events",
    "alerts",
    "drift_results",
    "feature_impact",
    "health",
    "leases",
    "metadata",
    "metric_snapshots",
    "outcomes",
    "predictions",
    "reference_profiles",
    "retrain_decisions",
    "retrain_jobs",
]

HEAD_REVISION = "0006"

# SQLite only auto-increments an INTEGER PRIMARY KEY (its rowid alias), not BIGINT
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

predictions = sa.Table(
    "predictions",
    metadata,
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
    sa.Column("latency_ms", sa.Float),
    # the bar's close the prediction was made at: what the backtest engine turns the
    # signal into returns with (revision 0003)
    sa.Column("close", sa.Float),
    # given by the writer or derived from (model, version, symbol, ts): a retried batch
    # is stored once (revision 0004); NULL on rows written before it
    sa.Column("idempotency_key", sa.String(64)),
    # one index for reads only: each extra index costs ~15 % of insert throughput, and the
    # monitor always filters by model and time (version is a cheap residual filter)
    sa.Index("ix_predictions_model_ts", "model", "ts"),
    sa.Index("uq_predictions_idempotency_key", "idempotency_key", unique=True),
)

outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("symbol", sa.String(50), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("label", sa.Float),
    sa.Column("realized_return", sa.Float),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    # simple return over the label horizon, close[t+h] / close[t] - 1: what the IC and
    # the hit rate are measured against, as on the holdout (revision 0003)
    sa.Column("forward_return", sa.Float),
    sa.UniqueConstraint("model", "symbol", "ts", name="uq_outcomes_key"),
)

metric_snapshots = sa.Table(
    "metric_snapshots",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Index("ix_metric_snapshots_model_kind", "model", "version", "kind", "window_end"),
)

drift_results = sa.Table(
    "drift_results",
    metadata,
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
    sa.Index("ix_drift_results_model_created", "model", "created_ns"),
)

alerts = sa.Table(
    "alerts",
    metadata,
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
    sa.Index("ix_alerts_fingerprint_state", "fingerprint", "state"),
    sa.Index("ix_alerts_state", "state"),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("alert_id", _Id, sa.ForeignKey("alerts.id"), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(50)),
    sa.Column("actor", sa.String(100)),
    sa.Column("detail", sa.Text),
    sa.Index("ix_alert_events_alert", "alert_id"),
    sa.Index("ix_alert_events_channel_ts", "channel", "event", "ts"),
)

health = sa.Table(
    "health",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Index("ix_health_model_ts", "model", "ts"),
)

reference_profiles = sa.Table(
    "reference_profiles",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.UniqueConstraint("model", "version", "kind", name="uq_reference_profiles_key"),
)

# mean |SHAP| per feature per period (month) of a model version, on its holdout or on
# served predictions, written by ``trademl explain`` (revision 0005)
feature_impact = sa.Table(
    "feature_impact",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),  # "holdout" or "served"
    sa.Column("period", sa.BigInteger, nullable=False),  # start of the month, ns UTC
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
    sa.Index("ix_feature_impact_model", "model", "created_ns"),
)

# ---- the retraining lifecycle (revision 0006): every trigger decision, every job, and
# the lease that keeps two schedulers on one store from running the same job twice
retrain_decisions = sa.Table(
    "retrain_decisions",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("trigger", sa.String(30), nullable=False),
    sa.Column("fired", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("job_id", sa.BigInteger),
    sa.Index("ix_retrain_decisions_model_ts", "model", "ts"),
)

retrain_jobs = sa.Table(
    "retrain_jobs",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("trigger", sa.String(30), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    # queued -> running -> (promoted | rejected | failed); a crash leaves running, and
    # the next scheduler start marks it failed (its heartbeat stopped)
    sa.Column("state", sa.String(15), nullable=False),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Column("updated_ns", sa.BigInteger, nullable=False),
    sa.Column("owner", sa.String(200)),
    sa.Column("champion_version", sa.String(50)),
    sa.Column("challenger_version", sa.String(50)),
    sa.Column("run_id", sa.String(64)),
    sa.Column("detail", sa.Text),
    sa.Index("ix_retrain_jobs_model_state", "model", "state"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_ns", sa.BigInteger, nullable=False),
)
