"""When staff work: a weekly pattern with breaks, date overrides, and time off."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, new_id, utcnow


class WeeklyHours(SQLModel, table=True):
    """One recurring interval of a staff member's week, in their local time: work or a break."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("start_time < end_time", name="start_before_end"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    staff_member_id: uuid.UUID = Field(
        foreign_key="staff_members.id", nullable=False, ondelete="CASCADE", index=True
    )
    weekday: int = Field(nullable=False)  # 0 = Monday
    start_time: time = Field(nullable=False)
    end_time: time = Field(nullable=False)
    is_break: bool = Field(default=False, nullable=False)


class ScheduleOverride(SQLModel, table=True):
    """Replaces the weekly pattern on one local date: a day off, or these hours instead."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (
        sa.CheckConstraint(
            "day_off OR (start_time IS NOT NULL AND end_time IS NOT NULL AND start_time < end_time)",
            name="hours_or_day_off",
        ),
        sa.Index("ix_schedule_overrides_staff_member_id_day", "staff_member_id", "day"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    staff_member_id: uuid.UUID = Field(
        foreign_key="staff_members.id", nullable=False, ondelete="CASCADE"
    )
    day: date = Field(nullable=False)
    day_off: bool = Field(default=False, nullable=False)
    start_time: time | None = Field(default=None)
    end_time: time | None = Field(default=None)
    note: str = Field(default="", sa_type=sa.String(200), nullable=False)


class TimeOff(SQLModel, table=True):
    __tablename__ = "time_off"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="start_before_end"),
        sa.Index("ix_time_off_staff_member_id_starts_at", "staff_member_id", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    staff_member_id: uuid.UUID = Field(
        foreign_key="staff_members.id", nullable=False, ondelete="CASCADE"
    )
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str = Field(default="", sa_type=sa.String(200), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
