"""Alembic environment: the app's engine and metadata; run through `flask db ...`."""

import logging

from alembic import context
from flask import current_app

from backend.db import UTCDateTime

config = context.config
logger = logging.getLogger("alembic.env")

database = current_app.extensions["migrate"].db
target_metadata = database.metadata


def render_item(type_, obj, _autogen_context):
    # Migrations must not import app code: our UTC type is a plain timestamptz column.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=str(database.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(context_, revision, directives):
        # An autogenerate with no change writes no file.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    conf_args.setdefault("render_item", render_item)
    with database.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one, which enforced
            # foreign keys refuse while other rows reference it. The pragma only takes
            # effect outside a transaction: on the driver's connection, before one begins.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        if sqlite:
            # Never handed back to the pool without its foreign keys: a new connection
            # gets them from the connect hook (backend.db).
            connection.invalidate()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
