"""Wake the relay as soon as a transaction that wrote events commits, so it need not wait for
its next poll: the relay of this process directly, and on PostgreSQL the leading relay of any
process (the worker's, in production) by ``NOTIFY boka_outbox``, which PostgreSQL delivers
when, and only if, the transaction commits."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

OUTBOX_WRITTEN = "boka.outbox_written"
_waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


OUTBOX_CHANNEL = "boka_outbox"  # LISTEN/NOTIFY channels are per database


def mark_outbox_written(session: Session) -> None:
    session.info[OUTBOX_WRITTEN] = True


def first_write_of_transaction(db: AsyncSession) -> bool:
    """Mark ``db``'s transaction as one that wrote events; True the first time, when the
    writer must also notify the relays on other connections (on PostgreSQL: with
    ``notify_relays`` or ``pg_notify(OUTBOX_CHANNEL, '')`` inside its own statement)."""
    session = db.sync_session
    if session.info.get(OUTBOX_WRITTEN):
        return False
    mark_outbox_written(session)
    return True


async def announce_outbox_written(db: AsyncSession) -> None:
    """Mark ``db``'s transaction as one that wrote events; on PostgreSQL, once per
    transaction, notify the relays listening on other connections."""
    if first_write_of_transaction(db) and db.get_bind().dialect.name == "postgresql":
        await db.execute(sa.text(f"NOTIFY {OUTBOX_CHANNEL}"))


def watch(signal: asyncio.Event) -> None:
    _waiting.add((asyncio.get_running_loop(), signal))


def unwatch(signal: asyncio.Event) -> None:
    for entry in [e for e in _waiting if e[1] is signal]:
        _waiting.discard(entry)


# Both events fire for a SAVEPOINT's release and rollback too (SQLAlchemy 2.1): those are not
# the transaction's end. Reacting to them woke the relay before the commit, and then not at it.

@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if session.info.pop(OUTBOX_WRITTEN, False):
        for loop, signal in list(_waiting):
            if not loop.is_closed():
                loop.call_soon_threadsafe(signal.set)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(OUTBOX_WRITTEN, None)
