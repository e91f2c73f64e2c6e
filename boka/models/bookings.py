"""Customers and their bookings, with what each booking holds and its history."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class BookingStatus(str, enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# Bookings in these states hold their staff member's and resources' time.
ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
STATUS_COLUMN_TYPE = sa.Enum(
    BookingStatus, native_enum=False, create_constraint=False, length=16,
    values_callable=lambda statuses: [status.value for status in statuses],
)


# An erased customer's email is ``erased-<id>@`` this (RFC 2606: never a real mailbox);
# boka/privacy/erasure.py writes it, message delivery checks for it.
ERASED_EMAIL_DOMAIN = "erased.invalid"


class Customer(SQLModel, table=True):
    """Someone who books with a tenant; found or created by email, with or without an account."""

    __tablename__ = "customers"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "email"),
        sa.Index("ix_customers_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    email: str = Field(sa_type=sa.String(254), nullable=False)
    first_name: str = Field(default="", sa_type=sa.String(100), nullable=False)
    last_name: str = Field(default="", sa_type=sa.String(100), nullable=False)
    phone: str | None = Field(default=None, sa_type=sa.String(32))
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL", index=True
    )
    # When the account was linked. Emails are not verified, so an account sees only the
    # bookings made after it was linked, never a guest's earlier ones under the same email.
    user_linked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    preferences: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Booking(SQLModel, table=True):
    """One customer's appointment (or seats in a class) with one staff member.

    ``block_start``/``block_end`` is the time the booking takes from its staff member and
    resources: the appointment plus the service's buffers. Bookings of one group-class session
    share a ``slot_key``; a private booking's slot_key is its own id. On PostgreSQL an exclusion
    constraint forbids two active bookings of one staff member with overlapping blocks and
    different slot keys.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'completed', 'cancelled', 'no_show')",
            name="status",
        ),
        sa.CheckConstraint("start_time < end_time", name="start_before_end"),
        # a slot hold's booking has no customer until it is booked (boka/booking/holds.py)
        sa.CheckConstraint(
            "customer_id IS NOT NULL OR status IN ('pending', 'cancelled')", name="customer_unless_held"
        ),
        sa.CheckConstraint("block_start <= start_time AND end_time <= block_end", name="block_covers"),
        sa.CheckConstraint("seats >= 1", name="seats_positive"),
        sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
        sa.Index("ix_bookings_tenant_id_start_time_id", "tenant_id", "start_time", "id"),
        sa.Index("ix_bookings_staff_id_block_start", "staff_id", "block_start"),
        # status and tenant_id: "had they booked before?" (analytics) from the index alone
        sa.Index("ix_bookings_customer_id_start_time", "customer_id", "start_time",
                 postgresql_include=["status", "tenant_id"]),
        sa.Index("ix_bookings_staff_id_start_time", "staff_id", "start_time"),
        # a service's bookings in a period (booking limits, boka/booking/limits.py)
        sa.Index("ix_bookings_service_id_start_time", "service_id", "start_time"),
        # group-class bookings (see boka/analytics/queries.py IN_CLASS_SESSION)
        sa.Index("ix_bookings_class_sessions", "tenant_id", "start_time",
                 postgresql_where=sa.text("slot_key LIKE '%:%'"),
                 sqlite_where=sa.text("slot_key LIKE '%:%'")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    # None only while the booking is a slot hold nobody has booked yet (then it is pending), or
    # after such a hold expired or was released (cancelled): never shown as a booking.
    customer_id: uuid.UUID | None = Field(
        default=None, foreign_key="customers.id", nullable=True, ondelete="CASCADE"
    )
    service_id: uuid.UUID = Field(foreign_key="services.id", nullable=False, ondelete="RESTRICT")
    staff_id: uuid.UUID = Field(foreign_key="staff_members.id", nullable=False, ondelete="RESTRICT")
    status: BookingStatus = Field(
        default=BookingStatus.PENDING, sa_type=STATUS_COLUMN_TYPE, nullable=False
    )
    start_time: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end_time: datetime = Field(sa_type=UTCDateTime, nullable=False)
    block_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    block_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    slot_key: str = Field(sa_type=sa.String(200), nullable=False)
    seats: int = Field(default=1, nullable=False)
    price_cents: int = Field(nullable=False)  # frozen at booking time
    # The base price (seat price times seats) before pricing rules and a discount code: what
    # analytics reports as gross, price_cents being what was charged. NULL: the same.
    list_price_cents: int | None = Field(default=None)
    currency: str = Field(sa_type=sa.String(3), nullable=False)
    discount_code_id: uuid.UUID | None = Field(
        default=None, foreign_key="discount_codes.id", ondelete="SET NULL"
    )
    # Fees of late moves (the service's late_reschedule "fee"): a later cancellation keeps them.
    kept_fee_cents: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})
    # A guest's booking under an email: the account of that email sees it only once the guest
    # has used the manage link sent to the email (proving it is theirs).
    awaiting_email_proof: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    # The class session whose seats the booking holds (group services); None for appointments.
    class_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="class_sessions.id", ondelete="RESTRICT", index=True
    )
    # The series this booking is an occurrence of (boka/booking/series.py), and which one (0 first)
    series_id: uuid.UUID | None = Field(
        default=None, foreign_key="booking_series.id", ondelete="SET NULL", index=True
    )
    series_index: int | None = Field(default=None)
    notes: str = Field(default="", sa_type=sa.Text, nullable=False)
    cancellation_reason: str | None = Field(default=None, sa_type=sa.String(500))
    created_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class BookingResource(SQLModel, table=True):
    """A resource a booking holds, with the booking's block copied so PostgreSQL can exclude
    overlaps per resource."""

    __tablename__ = "booking_resources"
    __table_args__ = (
        sa.Index("ix_booking_resources_resource_id_block_start", "resource_id", "block_start"),
    )

    booking_id: uuid.UUID = Field(foreign_key="bookings.id", primary_key=True, ondelete="CASCADE")
    resource_id: uuid.UUID = Field(
        foreign_key="resources.id", primary_key=True, ondelete="RESTRICT"
    )
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    block_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    block_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    slot_key: str = Field(sa_type=sa.String(200), nullable=False)
    active: bool = Field(default=True, nullable=False)


class ClassSeats(SQLModel, table=True):
    """Seats taken by group bookings made before class sessions existed, keyed by their
    (service, staff member, start) slot_key; only cancelling such bookings still updates it.
    Bookings of a class session count their seats on ``class_sessions``."""

    __tablename__ = "class_seats"
    __table_args__ = (
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="within_capacity"),
    )

    slot_key: str = Field(sa_type=sa.String(200), primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    capacity: int = Field(nullable=False)
    seats_taken: int = Field(default=0, nullable=False)


class BookingHistory(SQLModel, table=True):
    """Who changed what on a booking, and when."""

    __tablename__ = "booking_history"
    __table_args__ = (sa.Index("ix_booking_history_booking_id_created_at", "booking_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    booking_id: uuid.UUID = Field(foreign_key="bookings.id", nullable=False, ondelete="CASCADE")
    actor_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL"
    )
    action: str = Field(sa_type=sa.String(32), nullable=False)
    from_status: str | None = Field(default=None, sa_type=sa.String(16))
    to_status: str = Field(sa_type=sa.String(16), nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
