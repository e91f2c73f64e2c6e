"""The outbox: domain events written in the same transaction as the change they announce."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow

# BIGINT on PostgreSQL; SQLite numbers rows only through an INTEGER PRIMARY KEY.
POSITION_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Event(SQLModel, table=True):
    """One domain event. ``position`` orders the outbox (the relay publishes unpublished rows
    by position); ``sequence`` numbers the events of one aggregate, 1, 2, 3… with no gaps, and
    the unique constraint makes a duplicate number impossible."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("aggregate_type", "aggregate_id", "sequence"),
        sa.Index("ix_events_published_at_position", "published_at", "position"),
        sa.Index("ix_events_tenant_id_position", "tenant_id", "position"),
    )

    position: int | None = Field(
        default=None, sa_column=sa.Column(POSITION_TYPE, primary_key=True, autoincrement=True)
    )
    id: uuid.UUID = Field(default_factory=new_id, unique=True, nullable=False)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    aggregate_type: str = Field(sa_type=sa.String(32), nullable=False)
    aggregate_id: uuid.UUID = Field(nullable=False)
    sequence: int = Field(nullable=False)
    type: str = Field(sa_type=sa.String(64), nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Set by the relay once every consumer has had the event; NULL = still to publish.
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Failed attempts of an in-process consumer; the relay gives up after a bound.
    attempts: int = Field(default=0, nullable=False)
    # The W3C traceparent of the span that wrote the event, when tracing is on (NULL when off):
    # the relay's consumers and the jobs they enqueue continue that trace.
    trace: str | None = Field(default=None, sa_type=sa.String(55))


class EventStream(SQLModel, table=True):
    """The last sequence number handed out per aggregate. Taking the next one is a single
    upsert that row-locks the stream until commit, so a second transaction on the same
    aggregate waits and then gets the following number (and commits after the first)."""

    __tablename__ = "event_streams"

    aggregate_type: str = Field(sa_type=sa.String(32), primary_key=True)
    aggregate_id: uuid.UUID = Field(primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    version: int = Field(nullable=False)
