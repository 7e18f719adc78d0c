"""Prediction idempotency keys: a retried batch is stored once.

``predictions.idempotency_key`` holds, per row, a key given by the writer or derived from
(model, version, symbol, timestamp); a unique index makes a second insert of the same key
a no-op (``ON CONFLICT DO NOTHING``). Rows written before this revision keep a NULL key,
which the index does not compare, so nothing stored is changed or refused.

Idempotent like 0003: a column or index that already exists is left as it is.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEX = "uq_predictions_idempotency_key"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "idempotency_key" not in {c["name"] for c in inspector.get_columns("predictions")}:
        # a plain ADD COLUMN (no table copy): existing rows are not rewritten
        op.add_column("predictions", sa.Column("idempotency_key", sa.String(64)))
    if _INDEX not in {i["name"] for i in inspector.get_indexes("predictions")}:
        op.create_index(_INDEX, "predictions", ["idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, "predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("idempotency_key")
