"""Slot holds: time reserved for a checkout (``holdSlot``) or for a booking's online payment.

A hold is a booking row in ``pending`` (so the bookings' exclusion constraints and the class
seat counts guard it like any booking, and availability counts it without a query of its own)
plus this row, which says until when it holds and who may use it. ``expires_at`` is the one
"held until" of Boka: the expiry job and the sweep read it, whatever the hold is for."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, new_id, utcnow


class HoldStatus(str, enum.Enum):
    OPEN = "open"  # holds its time until expires_at
    CONVERTED = "converted"  # booked (and, for a paid service, paid): the booking keeps the time
    RELEASED = "released"  # given back by its holder (or its booking was cancelled)
    EXPIRED = "expired"  # not booked (or not paid) in time


class HoldPurpose(str, enum.Enum):
    CHECKOUT = "checkout"  # holdSlot: nobody has booked it yet
    PAYMENT = "payment"  # a booking waiting for its online payment


class SlotHold(SQLModel, table=True):
    __tablename__ = "slot_holds"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'converted', 'released', 'expired')", name="status"
        ),
        sa.CheckConstraint("purpose IN ('checkout', 'payment')", name="purpose"),
        sa.UniqueConstraint("booking_id"),
        sa.UniqueConstraint("token_digest"),
        sa.Index("ix_slot_holds_status_expires_at", "status", "expires_at"),
        sa.Index("ix_slot_holds_holder_status", "tenant_id", "holder", "status"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    booking_id: uuid.UUID = Field(foreign_key="bookings.id", nullable=False, ondelete="CASCADE")
    purpose: str = Field(default=HoldPurpose.CHECKOUT.value, sa_type=sa.String(16), nullable=False)
    status: str = Field(default=HoldStatus.OPEN.value, sa_type=sa.String(16), nullable=False)
    # SHA-256 of the secret hold id handed to whoever held (a checkout hold); None for a
    # payment hold, which its booking's own links and ids reach.
    token_digest: str | None = Field(default=None, sa_type=sa.String(64))
    # Whose it is, for the cap on open holds: "user:<id>", "key:<id>" or "ip:<address>".
    holder: str | None = Field(default=None, sa_type=sa.String(200))
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    booked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
