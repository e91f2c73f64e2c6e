"""Alembic environment: one migration chain for PostgreSQL and SQLite, run over the async driver."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import boka.models
from boka.config import Settings
from boka.models.types import UTCDateTime
from boka.rls import ALL_TENANTS_SETTING

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = boka.models.metadata

# PostgreSQL-only tables that migrations create and no model describes (the analytics rollup,
# migration 0018: its datemultirange column has no portable type); the drift check skips them.
UNMODELLED_TABLES = frozenset({
    "analytics_rollup_state", "analytics_daily", "analytics_customer_visits",
    "analytics_dirty_days",
})


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    table = getattr(obj, "table", obj) if type_ != "table" else obj
    table_name = name if type_ == "table" else getattr(table, "name", None)
    return table_name not in UNMODELLED_TABLES


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write Boka's portable column types as plain SQLAlchemy types in migration files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.JSON):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")  # type: ignore[attr-defined]
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def database_url() -> str:
    # The owner's URL: BOKA_MIGRATION_DATABASE_URL, else BOKA_DATABASE_URL.
    return config.get_main_option("sqlalchemy.url") or Settings().migration_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=database_url().startswith("sqlite"),
        compare_type=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Row level security is FORCEd, so it binds the owner too: data migrations work on
            # every tenant's rows (for this transaction only).
            connection.exec_driver_sql(f"SELECT set_config('{ALL_TENANTS_SETTING}', 'on', true)")
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        run_migrations_offline()
        return
    connection = config.attributes.get("connection")
    if connection is not None:  # a caller lent us a sync connection
        _run(connection)
    else:
        asyncio.run(run_migrations_online())


main()
