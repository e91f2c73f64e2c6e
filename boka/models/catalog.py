"""What a tenant sells and who or what delivers it: services, staff, resources."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class Service(SQLModel, table=True):
    __tablename__ = "services"
    __table_args__ = (
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("slot_interval_minutes > 0", name="interval_positive"),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers_not_negative"
        ),
        sa.CheckConstraint(
            "late_cancel_refund_percent BETWEEN 0 AND 100", name="refund_share_is_percent"
        ),
        sa.Index("ix_services_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    name: str = Field(sa_type=sa.String(200), nullable=False)
    description: str = Field(default="", sa_type=sa.Text, nullable=False)
    duration_minutes: int = Field(nullable=False)
    price_cents: int = Field(nullable=False)
    currency: str = Field(sa_type=sa.String(3), nullable=False)
    buffer_before_minutes: int = Field(default=0, nullable=False)
    buffer_after_minutes: int = Field(default=0, nullable=False)
    min_notice_minutes: int = Field(default=0, nullable=False)
    max_advance_days: int = Field(default=90, nullable=False)
    slot_interval_minutes: int = Field(default=15, nullable=False)
    capacity: int = Field(default=1, nullable=False)
    requires_confirmation: bool = Field(default=False, nullable=False)
    # Cancellation policy: free until this many hours before the start; after that the
    # customer gets back this share of what they paid.
    free_cancel_hours: int = Field(default=24, nullable=False)
    late_cancel_refund_percent: int = Field(default=0, nullable=False)
    # A reschedule inside that window: "refuse" it, or allow it for a "fee" (what a late
    # cancellation would keep), which a later cancellation keeps too.
    late_reschedule: str = Field(
        default="refuse", sa_type=sa.String(16), nullable=False,
        sa_column_kwargs={"server_default": "refuse"},
    )
    active: bool = Field(default=True, nullable=False)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    # At most N bookings or booked minutes per day/week/month, of the service with anyone
    # (boka/booking/limits.py): [{"period", "max_bookings", "max_minutes"}], usually empty.
    booking_limits: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=PortableJSON, nullable=False,
        sa_column_kwargs={"server_default": sa.text("'[]'")},
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class StaffMember(SQLModel, table=True):
    """A tenant member who delivers services, with the zone their schedule is written in."""

    __tablename__ = "staff_members"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id"),
        sa.Index("ix_staff_members_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False, ondelete="CASCADE")
    display_name: str = Field(sa_type=sa.String(200), nullable=False)
    time_zone: str = Field(sa_type=sa.String(64), nullable=False)
    active: bool = Field(default=True, nullable=False)
    # Limits on the staff member's bookings of any service, as ``Service.booking_limits``.
    booking_limits: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=PortableJSON, nullable=False,
        sa_column_kwargs={"server_default": sa.text("'[]'")},
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class StaffService(SQLModel, table=True):
    """A service a staff member performs, optionally at their own price or duration."""

    __tablename__ = "staff_services"
    __table_args__ = (sa.UniqueConstraint("staff_member_id", "service_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    staff_member_id: uuid.UUID = Field(
        foreign_key="staff_members.id", nullable=False, ondelete="CASCADE"
    )
    service_id: uuid.UUID = Field(
        foreign_key="services.id", nullable=False, ondelete="CASCADE", index=True
    )
    price_cents: int | None = Field(default=None)
    duration_minutes: int | None = Field(default=None)


class Resource(SQLModel, table=True):
    """A room, chair or piece of equipment; one booking (or one class session) at a time."""

    __tablename__ = "resources"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(
        foreign_key="tenants.id", nullable=False, ondelete="CASCADE", index=True
    )
    name: str = Field(sa_type=sa.String(200), nullable=False)
    kind: str = Field(default="room", sa_type=sa.String(50), nullable=False)
    active: bool = Field(default=True, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ServiceResource(SQLModel, table=True):
    """A resource a service needs; a booking of the service holds every one of them."""

    __tablename__ = "service_resources"

    service_id: uuid.UUID = Field(foreign_key="services.id", primary_key=True, ondelete="CASCADE")
    resource_id: uuid.UUID = Field(
        foreign_key="resources.id", primary_key=True, ondelete="CASCADE"
    )
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
