"""Database engine and units of work.

A unit of work is one transaction. Tenant-scoped work passes the tenant id, which PostgreSQL
receives as ``SET LOCAL app.tenant_id`` (the key the row level security policies read, see
boka/rls.py): without it, tenant-owned tables show no rows and refuse every write. Work that
really must span tenants says so with ``all_tenants=True``. SQLite, the embedded default, has
no row level security (the application's own tenant filters apply there) and takes one writer
at a time, so write units are serialized in-process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import identity_key

from boka.column_limits import check_column_lengths
from boka.config import Settings
from boka.rls import ALL_TENANTS_SETTING, TENANT_SETTING


def create_background_engine(settings: Settings) -> AsyncEngine | None:
    """The engine of the background role (``BOKA_BACKGROUND_DATABASE_URL``), for all-tenant
    transactions only; None when it has no URL of its own (then the app's engine serves)."""
    if settings.is_sqlite or not settings.background_database_url:
        return None
    return create_async_engine(
        settings.background_database_url,
        echo=settings.db_echo,
        pool_size=max(2, settings.db_pool_size // 2),
        max_overflow=max(2, settings.db_pool_size // 2),
        pool_pre_ping=True,
        pool_timeout=settings.db_pool_timeout_seconds,
    )


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
        pool_timeout=settings.db_pool_timeout_seconds,
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


# What a committed transaction wrote: (model class, "insert" | "update" | "delete").
Change = tuple[type, str]
CommitListener = Callable[[frozenset[Change]], Awaitable[None]]
# Execution option for an ORM UPDATE that only keeps books (a last-seen time, say) and changes
# nothing a commit listener cares about: ``.execution_options(bookkeeping=True)``.
BOOKKEEPING = "bookkeeping"


class TrackedSession(Session):
    """A session that notes which models its transaction wrote, for ``Database.on_commit``."""


event.listen(TrackedSession, "before_flush", check_column_lengths)


@event.listens_for(TrackedSession, "after_flush")
def _note_flushed(session: Session, _flush_context: Any) -> None:
    changes = session.info.setdefault("changes", set())
    changes.update((type(row), "insert") for row in session.new)
    changes.update((type(row), "update") for row in session.dirty if session.is_modified(row))
    changes.update((type(row), "delete") for row in session.deleted)


@event.listens_for(TrackedSession, "do_orm_execute")
def _note_bulk_write(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(BOOKKEEPING):
        return
    mapper = state.bind_mapper
    if mapper is not None:
        kind = "update" if state.is_update else "delete"
        state.session.info.setdefault("changes", set()).add((mapper.class_, kind))


class Database:
    """The process's engine plus the way every piece of code opens a transaction."""

    def __init__(self, engine: AsyncEngine, *, background_engine: AsyncEngine | None = None) -> None:
        """``background_engine`` connects as the role that may see every tenant (a member of
        boka_all_tenants, see boka/rls.py); all-tenant transactions run on it, and only they.
        Without one, they run on ``engine``, whose role must then be such a member."""
        self.engine = engine
        self.background_engine = background_engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False, sync_session_class=TrackedSession
        )
        self._all_tenant_sessions = (
            async_sessionmaker(
                background_engine, expire_on_commit=False, autoflush=False, sync_session_class=TrackedSession
            )
            if background_engine is not None
            else self._sessions
        )
        self._sqlite_writer = asyncio.Lock()
        self._commit_listeners: list[CommitListener] = []

    def on_commit(self, listener: CommitListener) -> None:
        """Call ``listener`` with what each transaction wrote, after it commits and before
        ``transaction()`` returns (so a caller's answer leaves only once listeners are done:
        caches are invalidated before anyone hears that a session was revoked)."""
        self._commit_listeners.append(listener)

    @asynccontextmanager
    async def transaction(
        self,
        tenant_id: uuid.UUID | None = None,
        *,
        write: bool = False,
        all_tenants: bool = False,
    ) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises.

        ``tenant_id`` scopes it to one tenant's rows. ``all_tenants=True`` is the explicit,
        greppable opt-in for work that must see and write every tenant's rows (a superadmin
        listing, the outbox relay, jobs that scan all tenants); it excludes ``tenant_id``.
        With neither, tenant-owned tables are empty and unwritable (on PostgreSQL).
        """
        if all_tenants and tenant_id is not None:
            raise ValueError("transaction(): pass tenant_id or all_tenants=True, not both")
        if self.is_sqlite and write:
            async with self._sqlite_writer:
                async with self._open(tenant_id, all_tenants) as session:
                    yield session
        else:
            async with self._open(tenant_id, all_tenants) as session:
                yield session

    @asynccontextmanager
    async def _open(self, tenant_id: uuid.UUID | None, all_tenants: bool) -> AsyncIterator[AsyncSession]:
        sessions = self._all_tenant_sessions if all_tenants else self._sessions
        async with sessions() as session:
            async with session.begin():
                if all_tenants and not self.is_sqlite:
                    await session.execute(
                        sa.text(f"SELECT set_config('{ALL_TENANTS_SETTING}', 'on', true)")
                    )
                await scope_to_tenant(session, tenant_id)
                yield session
            changes = session.info.pop("changes", None)
            if changes and self._commit_listeners:
                frozen = frozenset(changes)
                for listener in self._commit_listeners:
                    await listener(frozen)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.background_engine is not None:
            await self.background_engine.dispose()


SCOPE_TO_TENANT = f"SELECT set_config('{TENANT_SETTING}', $1, true)"  # asyncpg's placeholders


def dialect_insert(db: AsyncSession) -> Any:
    """INSERT with ON CONFLICT for the session's dialect (PostgreSQL or SQLite)."""
    return postgres_insert if db.bind.dialect.name == "postgresql" else sqlite_insert


async def scope_to_tenant(session: AsyncSession, tenant_id: uuid.UUID | None) -> None:
    """Scope the rest of an open transaction to ``tenant_id`` (``SET LOCAL app.tenant_id``).

    ``Database.transaction(tenant_id)`` does this at the start; call it directly only where the
    tenant becomes known inside the transaction (it was just created, or just looked up).
    A no-op for None and on SQLite.
    """
    if tenant_id is None or session.bind.dialect.name == "sqlite":
        return
    # Straight to the driver: this runs at the start of nearly every transaction, and the ORM's
    # execute path (statement coercion, cache key, result setup) cost more than the round trip.
    connection = await session.connection()
    await connection.exec_driver_sql(SCOPE_TO_TENANT, (str(tenant_id),))



def keep_in_hand(db: AsyncSession, *rows: object) -> None:
    """Hold these rows for the rest of the transaction, so ``already_loaded`` finds them (the
    session's identity map holds unmodified rows weakly: a row nobody references is forgotten)."""
    db.info.setdefault("in_hand", []).extend(rows)


def already_loaded(db: AsyncSession, model: type[Any], row_id: object) -> Any | None:
    """The ``model`` row with this primary key if this session already holds it with every
    column loaded (read or written earlier in the transaction, and still referenced: see
    ``keep_in_hand``), without a statement; else None. For work that would otherwise read back
    what the transaction has in hand."""
    found = db.sync_session.identity_map.get(identity_key(model, row_id))
    if found is None:
        return None
    state = sa.inspect(found)
    return None if state.expired or state.unloaded else found
