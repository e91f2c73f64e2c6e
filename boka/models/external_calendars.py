"""Busy time from staff members' own calendars (Google, Outlook, iCloud): the secret iCalendar
addresses they attach, and the busy blocks the last successful poll expanded them into."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class ExternalCalendarFeed(SQLModel, table=True):
    """One attached calendar address, polled by the worker."""

    __tablename__ = "external_calendar_feeds"
    __table_args__ = (
        sa.Index("ix_external_calendar_feeds_staff_member_id_created_at", "staff_member_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    staff_member_id: uuid.UUID = Field(foreign_key="staff_members.id", nullable=False, ondelete="CASCADE")
    name: str = Field(default="", sa_type=sa.String(200), nullable=False)
    # The address is a bearer secret (anyone holding it reads the whole calendar): sealed with
    # the SecretBox like webhook secrets; only ``url_hint`` (scheme, host, last characters) is shown.
    url: str = Field(sa_type=sa.Text, nullable=False)
    url_hint: str = Field(sa_type=sa.String(300), nullable=False)
    # Validators of the last 200 response, sent back as If-None-Match / If-Modified-Since.
    etag: str | None = Field(default=None, sa_type=sa.String(500))
    last_modified: str | None = Field(default=None, sa_type=sa.String(100))
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.String(500))
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    busy_block_count: int = Field(default=0, nullable=False)
    # This calendar's busy spans from its last good poll, merged: [[start, end], …] in Unix
    # seconds. The staff member's ``external_busy_blocks`` are the union of their calendars'.
    busy: list[list[int]] = Field(default_factory=list, sa_type=PortableJSON, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ExternalBusyBlock(SQLModel, table=True):
    """A span the staff member's attached calendars show as busy: the union of all of them,
    merged (overlapping and touching spans joined), rebuilt whenever one of them changes, so
    availability reads as few rows as possible"""

    __tablename__ = "external_busy_blocks"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="start_before_end"),
        sa.Index("ix_external_busy_blocks_staff_member_id_starts_at", "staff_member_id", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    staff_member_id: uuid.UUID = Field(foreign_key="staff_members.id", nullable=False, ondelete="CASCADE")
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
