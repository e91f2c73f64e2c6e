"""Scheduled sessions of group classes: who teaches, where, when, and how many seats are taken."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, new_id, utcnow


class ClassSessionStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class ClassSession(SQLModel, table=True):
    """One scheduled class of a group service, with its instructor, optional room and seats.

    ``seats_taken`` counts the seats of its active bookings; every booking takes its seats with
    one atomic UPDATE, and the check constraint (on PostgreSQL and SQLite alike) refuses an
    oversell when requests race. ``block_start``/``block_end`` is the time the session takes from
    its instructor and room (the class plus the service's buffers); on PostgreSQL exclusion
    constraints keep two scheduled sessions of one instructor (or room) from overlapping.
    Bookings of the session carry its id and share the slot_key ``session:<id>``.
    """

    __tablename__ = "class_sessions"
    __table_args__ = (
        sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name="status"),
        sa.CheckConstraint("start_time < end_time", name="start_before_end"),
        sa.CheckConstraint("block_start <= start_time AND end_time <= block_end", name="block_covers"),
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="within_capacity"),
        sa.Index("ix_class_sessions_service_id_start_time", "service_id", "start_time"),
        sa.Index("ix_class_sessions_staff_id_block_start", "staff_id", "block_start"),
        sa.Index("ix_class_sessions_resource_id_block_start", "resource_id", "block_start"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    service_id: uuid.UUID = Field(foreign_key="services.id", nullable=False, ondelete="RESTRICT")
    staff_id: uuid.UUID = Field(foreign_key="staff_members.id", nullable=False, ondelete="RESTRICT")
    resource_id: uuid.UUID | None = Field(
        default=None, foreign_key="resources.id", ondelete="RESTRICT"
    )
    status: str = Field(default=ClassSessionStatus.SCHEDULED.value, sa_type=sa.String(16), nullable=False)
    start_time: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end_time: datetime = Field(sa_type=UTCDateTime, nullable=False)
    block_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    block_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    capacity: int = Field(nullable=False)
    seats_taken: int = Field(default=0, nullable=False)
    cancellation_reason: str | None = Field(default=None, sa_type=sa.String(500))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def slot_key(self) -> str:
        return session_slot_key(self.id)


def session_slot_key(session_id: uuid.UUID) -> str:
    """The slot_key every booking of one class session shares (and the session's own block)."""
    return f"session:{session_id}"
