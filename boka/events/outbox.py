"""Writing domain events into the outbox, in the caller's transaction.

``record_event`` is the one way to announce a change: the event commits (or rolls back) with
the change itself, and the relay (``boka.events.relay``) publishes it after commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.business_metrics import note_event
from boka.events.wakeup import OUTBOX_CHANNEL, announce_outbox_written, first_write_of_transaction
from boka.models.events import Event, EventStream
from boka.models.types import utcnow
from boka.observability import tracing


async def record_event(
    db: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
    type: str,
    payload: dict[str, Any],
    occurred_at: datetime | None = None,
) -> Event:
    """Add one event to the outbox in ``db``'s transaction and return it (written).

    ``payload`` must be JSON-serialisable and hold no secrets: it reaches subscribers,
    consumers and (later) webhooks as it is.
    """
    event = Event(
        tenant_id=tenant_id,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        sequence=0,
        type=type,
        payload=payload,
        occurred_at=occurred_at or utcnow(),
        trace=tracing.current_traceparent() if tracing.ENABLED else None,
    )
    if db.bind.dialect.name == "postgresql":
        notify = first_write_of_transaction(db)
        event.sequence, event.position = await _insert_numbered(db, event, notify=notify)
    else:
        event.sequence = await _next_sequence(db, tenant_id, aggregate_type, aggregate_id)
        db.add(event)
        await db.flush()
        await announce_outbox_written(db)
    note_event(db.sync_session, type)
    return event


async def _insert_numbered(db: AsyncSession, event: Event, *, notify: bool) -> tuple[int, int]:
    """PostgreSQL: the stream upsert (see _next_sequence) and the event's insert in one
    statement, the upsert as a data-modifying CTE; (sequence, position) of the new row. With
    ``notify``, the same statement also wakes the relays (``pg_notify``, delivered at commit)."""
    values = {
        "id": event.id, "tenant_id": event.tenant_id, "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id, "type": event.type, "payload": event.payload,
        "occurred_at": event.occurred_at,
    }
    traced = event.trace is not None
    if traced:
        values["trace"] = event.trace
    row = (await db.execute(_numbered_insert(notify, traced), values)).one()
    return int(row.sequence), int(row.position)


@cache
def _numbered_insert(notify: bool, traced: bool = False) -> sa.Insert:
    """Built once (per ``notify`` and ``traced``) with bound parameters: building this statement
    and its cache key anew for every event cost more CPU than running it. ``traced``: the
    statement also stores the event's traceparent (only when tracing is on, so that the
    statement is the same as ever when it is off)."""
    events, streams = Event.__table__, EventStream.__table__  # Core tables: ORM statements given
    columns = events.c  # parameters would run as an ORM bulk insert

    def param(name: str) -> sa.BindParameter[Any]:
        return sa.bindparam(name, type_=columns[name].type)

    stream = (
        postgres_insert(streams)
        .values(aggregate_type=param("aggregate_type"), aggregate_id=param("aggregate_id"),
                tenant_id=param("tenant_id"), version=1)
        .on_conflict_do_update(
            index_elements=[streams.c.aggregate_type, streams.c.aggregate_id],
            set_={"version": streams.c.version + 1},
        )
        .returning(streams.c.version)
        .cte("stream")
    )
    values = sa.select(
        param("id"), param("tenant_id"), param("aggregate_type"), param("aggregate_id"),
        stream.c.version, param("type"), param("payload"), param("occurred_at"),
        sa.literal(0, columns.attempts.type), *([param("trace")] if traced else []),
    ).select_from(stream)
    if notify:
        wake = sa.select(sa.func.pg_notify(OUTBOX_CHANNEL, "").label("sent")).cte("wake")
        values = values.join(wake, sa.true())
    return (
        postgres_insert(events)
        .from_select(["id", "tenant_id", "aggregate_type", "aggregate_id", "sequence", "type",
                      "payload", "occurred_at", "attempts", *(["trace"] if traced else [])], values)
        .returning(columns.sequence, columns.position)
    )


async def _next_sequence(
    db: AsyncSession, tenant_id: uuid.UUID, aggregate_type: str, aggregate_id: uuid.UUID
) -> int:
    """The aggregate's next sequence number, from one atomic upsert on its stream row.

    On PostgreSQL the upsert row-locks the stream until this transaction ends: a concurrent
    transaction on the same aggregate waits, then reads the committed number and takes the
    next one, so numbers are unique and commit in order. SQLite serializes writers anyway.
    """
    insert = postgres_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(EventStream).values(
        aggregate_type=aggregate_type, aggregate_id=aggregate_id, tenant_id=tenant_id, version=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=[EventStream.aggregate_type, EventStream.aggregate_id],
        set_={"version": EventStream.version + 1},
    ).returning(EventStream.version)
    return int((await db.execute(statement)).scalar_one())


def as_message(event: Event) -> dict[str, Any]:
    """The event as it travels: to the broadcast channel, consumers and subscribers."""
    message: dict[str, Any] = {
        "id": str(event.id),
        "position": event.position,
        "tenant_id": str(event.tenant_id),
        "aggregate_type": event.aggregate_type,
        "aggregate_id": str(event.aggregate_id),
        "sequence": event.sequence,
        "type": event.type,
        "payload": event.payload,
        "occurred_at": event.occurred_at.isoformat(),
    }
    if event.trace is not None:  # only with tracing on: the message is as ever when off
        message["trace"] = event.trace
    return message


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def unpublished(limit: int) -> sa.Select[tuple[Event]]:
    """The oldest events not yet published, in outbox order."""
    return (
        sa.select(Event).where(Event.published_at.is_(None)).order_by(Event.position).limit(limit)
    )
