"""Notification tables: tenant template overrides, the log that makes each message go out at
most once, and the staff members' private calendar feeds."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, new_id, utcnow


class NotificationTemplate(SQLModel, table=True):
    """A tenant's own wording of one message (kind, channel, language); the built-in default
    is used where there is none."""

    __tablename__ = "notification_templates"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "kind", "channel", "language"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    kind: str = Field(sa_type=sa.String(32), nullable=False)
    channel: str = Field(sa_type=sa.String(8), nullable=False)
    language: str = Field(sa_type=sa.String(8), nullable=False)
    subject: str = Field(default="", sa_type=sa.String(300), nullable=False)
    body: str = Field(sa_type=sa.Text, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NotificationLog(SQLModel, table=True):
    """One message to one recipient over one channel. ``dedupe_key`` is unique: a retried or
    duplicated job finds the row and does not send again."""

    __tablename__ = "notification_log"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('sending', 'sent', 'failed')", name="status"
        ),
        sa.Index("ix_notification_log_booking_id", "booking_id"),
        sa.Index("ix_notification_log_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    dedupe_key: str = Field(sa_type=sa.String(200), nullable=False, unique=True)
    kind: str = Field(sa_type=sa.String(32), nullable=False)
    channel: str = Field(sa_type=sa.String(8), nullable=False)
    recipient: str = Field(sa_type=sa.String(254), nullable=False)
    booking_id: uuid.UUID | None = Field(default=None, foreign_key="bookings.id", ondelete="SET NULL")
    status: str = Field(sa_type=sa.String(16), nullable=False)
    attempts: int = Field(default=1, nullable=False)
    provider_message_id: str | None = Field(default=None, sa_type=sa.String(200))
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffCalendarFeed(SQLModel, table=True):
    """A staff member's private ICS feed. Only the SHA-256 of the URL's token is stored;
    rotating replaces it, revoking deletes the row."""

    __tablename__ = "staff_calendar_feeds"

    staff_member_id: uuid.UUID = Field(
        foreign_key="staff_members.id", primary_key=True, ondelete="CASCADE"
    )
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    token_hash: str = Field(sa_type=sa.String(64), nullable=False, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
