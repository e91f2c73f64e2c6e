"""Waitlists: customers in line for a service's time, and the offers made to them when time
frees up."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, new_id, utcnow


class WaitlistStatus(str, enum.Enum):
    WAITING = "waiting"  # in line
    OFFERED = "offered"  # holds an open offer
    BOOKED = "booked"  # claimed its offer
    LEFT = "left"  # taken off the list by the customer or the business
    PASSED = "passed"  # declined its offer or let it expire


class OfferStatus(str, enum.Enum):
    OPEN = "open"  # the time is held for the customer until expires_at
    CLAIMED = "claimed"
    DECLINED = "declined"
    EXPIRED = "expired"


class WaitlistEntry(SQLModel, table=True):
    """One customer in line for a service (optionally one staff member, one class session, a
    time range: the appointment must lie within [earliest, latest)). First come, first served:
    the line is ordered by (created_at, id)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'booked', 'left', 'passed')", name="status"
        ),
        sa.CheckConstraint(
            "earliest IS NULL OR latest IS NULL OR earliest < latest", name="range_ordered"
        ),
        sa.CheckConstraint("seats >= 1", name="seats_positive"),
        sa.Index("ix_waitlist_entries_line", "tenant_id", "service_id", "status", "created_at", "id"),
        sa.Index("ix_waitlist_entries_customer_id", "customer_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    customer_id: uuid.UUID = Field(foreign_key="customers.id", nullable=False, ondelete="CASCADE")
    service_id: uuid.UUID = Field(foreign_key="services.id", nullable=False, ondelete="CASCADE")
    staff_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="CASCADE"
    )
    class_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="class_sessions.id", ondelete="CASCADE"
    )
    earliest: datetime | None = Field(default=None, sa_type=UTCDateTime)
    latest: datetime | None = Field(default=None, sa_type=UTCDateTime)
    seats: int = Field(default=1, nullable=False)
    status: str = Field(default=WaitlistStatus.WAITING.value, sa_type=sa.String(16), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WaitlistOffer(SQLModel, table=True):
    """Time held for one entry (as a pending booking) until ``expires_at``. An entry gets at
    most one offer ever (unique ``entry_id``): nothing is offered twice."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'declined', 'expired')", name="status"
        ),
        sa.UniqueConstraint("entry_id"),
        sa.UniqueConstraint("booking_id"),
        sa.Index("ix_waitlist_offers_status_expires_at", "status", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    entry_id: uuid.UUID = Field(foreign_key="waitlist_entries.id", nullable=False, ondelete="CASCADE")
    booking_id: uuid.UUID = Field(foreign_key="bookings.id", nullable=False, ondelete="CASCADE")
    status: str = Field(default=OfferStatus.OPEN.value, sa_type=sa.String(16), nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
