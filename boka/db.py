"""Database engine and units of work.

A unit of work is one transaction. Tenant-scoped work passes the tenant id, which PostgreSQL
receives as ``SET LOCAL app.tenant_id`` (the key row level security policies read). SQLite, the
embedded default, takes one writer at a time, so write units are serialized in-process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from boka.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url, echo=settings.db_echo, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
        return engine
    return create_async_engine(
        settings.database_url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
    )


def _configure_sqlite_connection(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The sqlite3 driver opens transactions lazily, at the first write, and never before a
    # SAVEPOINT, so a savepoint as the first write would become (and commit as) the whole
    # transaction. Take transaction control away from it: SQLAlchemy's documented recipe.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_sqlite_transaction(connection) -> None:  # type: ignore[no-untyped-def]
    connection.exec_driver_sql("BEGIN")


class Database:
    """The process's engine plus the way every piece of code opens a transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._sqlite_writer = asyncio.Lock()

    @asynccontextmanager
    async def transaction(
        self, tenant_id: uuid.UUID | None = None, *, write: bool = False, all_tenants: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises.
        ``all_tenants`` marks work that spans tenants (the event relay); a no-op until row
        level security arrives."""
        if self.is_sqlite and write:
            async with self._sqlite_writer:
                async with self._open(tenant_id) as session:
                    yield session
        else:
            async with self._open(tenant_id) as session:
                yield session

    @asynccontextmanager
    async def _open(self, tenant_id: uuid.UUID | None) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            if tenant_id is not None and not self.is_sqlite:
                await session.execute(
                    sa.text("SELECT set_config('app.tenant_id', :tenant_id, true)"),
                    {"tenant_id": str(tenant_id)},
                )
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
