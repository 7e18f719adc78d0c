"""What the backtest engine needs from the store: the close of each prediction's bar and
the outcome's forward return over the label horizon.

``predictions.close`` lets monitoring turn stored signals into returns with the same
engine (lag, fees, sizing) as the holdout; ``outcomes.forward_return`` (close[t+h] /
close[t] - 1) is what the IC and hit rate are measured against. Both are nullable: rows
written before this revision keep their values and simply lack the new ones.

Idempotent: a column that already exists (a run interrupted after the DDL on a database
without transactional DDL) is left as it is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NEW = (("predictions", "close"), ("outcomes", "forward_return"))


def _has(table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    for table, column in _NEW:
        if not _has(table, column):
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column(column, sa.Float))


def downgrade() -> None:
    for table, column in _NEW:
        if _has(table, column):
            with op.batch_alter_table(table) as batch:
                batch.drop_column(column)
