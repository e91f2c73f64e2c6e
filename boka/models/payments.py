"""Money: what a service asks to be paid up front, and the ledger of every payment, refund and
payment-provider event (the transaction audit trail)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class PaymentMode(str, enum.Enum):
    ON_SITE = "on_site"  # nothing up front: the customer pays at the appointment
    DEPOSIT = "deposit"  # a fixed amount or a share of the price, online, to hold the slot
    FULL = "full"  # the whole price, online, to hold the slot


class PaymentKind(str, enum.Enum):
    BOOKING = "booking"  # the deposit or full price asked when booking
    NO_SHOW_FEE = "no_show_fee"
    # What a move to a dearer time adds to what is asked up front (boka/payments/top_ups.py);
    # a booking may have several over its moves, at most one of them open at a time.
    TOP_UP = "top_up"


# Payments a booking has at most one of (a top-up may come with every move).
ONE_PER_BOOKING = sa.text("kind <> 'top_up'")


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for the customer (or the provider)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the last attempt failed; the customer may try again until it expires
    CANCELED = "canceled"  # given up: the hold expired, or the booking went away unpaid
    DUE_ON_SITE = "due_on_site"  # the offline provider: to be collected at the appointment


class RefundStatus(str, enum.Enum):
    PENDING = "pending"  # recorded, the provider not yet (successfully) asked
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MANUAL = "manual"  # the offline provider: to be paid back by hand


def _enum_check(column: str, values: type[enum.Enum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class ServicePaymentPolicy(SQLModel, table=True):
    """How a service is paid; a service without a row is paid on site."""

    __tablename__ = "service_payment_policies"
    __table_args__ = (
        sa.CheckConstraint(_enum_check("mode", PaymentMode), name="mode"),
        sa.CheckConstraint(
            "deposit_cents IS NULL OR deposit_cents > 0", name="deposit_cents_positive"
        ),
        sa.CheckConstraint(
            "deposit_percent IS NULL OR deposit_percent BETWEEN 1 AND 100",
            name="deposit_percent_is_percent",
        ),
        sa.CheckConstraint(
            "no_show_fee_percent BETWEEN 0 AND 100", name="no_show_fee_percent_is_percent"
        ),
    )

    service_id: uuid.UUID = Field(foreign_key="services.id", primary_key=True, ondelete="CASCADE")
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    mode: str = Field(sa_type=sa.String(16), nullable=False)
    deposit_cents: int | None = Field(default=None)
    deposit_percent: int | None = Field(default=None)
    # Charged (as a share of the price, less what was paid up front) when staff mark a no-show.
    no_show_fee_percent: int = Field(default=0, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Payment(SQLModel, table=True):
    """One charge asked of a customer, with its provider's id and where it stands."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.Index("uq_payments_booking_id_kind", "booking_id", "kind", unique=True,
                 postgresql_where=ONE_PER_BOOKING, sqlite_where=ONE_PER_BOOKING),
        sa.UniqueConstraint("provider", "provider_payment_id"),
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
        sa.CheckConstraint(_enum_check("status", PaymentStatus), name="status"),
        sa.CheckConstraint(_enum_check("kind", PaymentKind), name="kind"),
        sa.Index("ix_payments_status_expires_at", "status", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    booking_id: uuid.UUID = Field(foreign_key="bookings.id", nullable=False, ondelete="CASCADE")
    kind: str = Field(sa_type=sa.String(16), nullable=False)
    provider: str = Field(sa_type=sa.String(16), nullable=False)
    provider_payment_id: str | None = Field(default=None, sa_type=sa.String(255))
    amount_cents: int = Field(nullable=False)
    currency: str = Field(sa_type=sa.String(3), nullable=False)
    status: str = Field(sa_type=sa.String(16), nullable=False)
    failure_code: str | None = Field(default=None, sa_type=sa.String(100))
    failure_message: str | None = Field(default=None, sa_type=sa.String(500))
    # An unpaid booking payment holds the slot until then; an unpaid top-up can be paid online
    # until then (the appointment's start), after which the difference is due on site.
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    succeeded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Refund(SQLModel, table=True):
    """Money going back to a customer. ``idempotency_key`` names why (e.g. the cancellation
    of a booking), so the same refund is never recorded, or sent to the provider, twice."""

    __tablename__ = "refunds"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("provider", "provider_refund_id"),
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
        sa.CheckConstraint(_enum_check("status", RefundStatus), name="status"),
        sa.Index("ix_refunds_booking_id", "booking_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    payment_id: uuid.UUID = Field(foreign_key="payments.id", nullable=False, ondelete="CASCADE", index=True)
    booking_id: uuid.UUID = Field(foreign_key="bookings.id", nullable=False, ondelete="CASCADE")
    idempotency_key: str = Field(sa_type=sa.String(200), nullable=False)
    provider: str = Field(sa_type=sa.String(16), nullable=False)
    provider_refund_id: str | None = Field(default=None, sa_type=sa.String(255))
    amount_cents: int = Field(nullable=False)
    currency: str = Field(sa_type=sa.String(3), nullable=False)
    status: str = Field(sa_type=sa.String(16), nullable=False)
    reason: str = Field(sa_type=sa.String(200), nullable=False)
    failure_message: str | None = Field(default=None, sa_type=sa.String(500))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PaymentEvent(SQLModel, table=True):
    """A verified webhook event from a payment provider, stored once (its id is unique) and
    processed by a job. Not tenant-owned: the provider account is the platform's."""

    __tablename__ = "payment_events"
    __table_args__ = (sa.UniqueConstraint("provider", "event_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider: str = Field(sa_type=sa.String(16), nullable=False)
    event_id: str = Field(sa_type=sa.String(255), nullable=False)
    type: str = Field(sa_type=sa.String(100), nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, sa_type=sa.String(200))
