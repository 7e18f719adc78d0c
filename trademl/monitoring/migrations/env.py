"""Alembic environment for the monitoring store.

trademl runs migrations itself (``trademl.monitoring.store.open_store``) and hands over
an open connection in ``config.attributes["connection"]``; a URL in the config is the
fallback for the ``alembic`` command line.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from trademl.monitoring.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
