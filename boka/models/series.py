"""Booking series: one customer's recurring appointments, each occurrence a normal booking that
points back to its series (``bookings.series_id``)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, new_id, utcnow


class SeriesFrequency(str, enum.Enum):
    DAILY = "daily"  # every ``interval`` days
    WEEKLY = "weekly"  # every ``interval`` weeks, on the first start's weekday
    MONTHLY_BY_WEEKDAY = "monthly_by_weekday"  # e.g. the second Tuesday, the last Friday


class BookingSeries(SQLModel, table=True):
    """The rule a series was booked with, in the zone whose wall time it keeps. The bookings
    themselves are the occurrences: cancelling or moving one changes that booking only."""

    __tablename__ = "booking_series"
    __table_args__ = (
        sa.CheckConstraint(
            "frequency IN ('daily', 'weekly', 'monthly_by_weekday')", name="frequency"
        ),
        sa.CheckConstraint("interval >= 1", name="interval_positive"),
        sa.CheckConstraint("occurrence_count >= 1", name="count_positive"),
        sa.Index("ix_booking_series_customer_id", "customer_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    customer_id: uuid.UUID = Field(foreign_key="customers.id", nullable=False, ondelete="CASCADE")
    service_id: uuid.UUID = Field(foreign_key="services.id", nullable=False, ondelete="RESTRICT")
    # the staff member asked for; NULL: anyone (the same one preferred from one time to the next)
    staff_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff_members.id", ondelete="SET NULL"
    )
    time_zone: str = Field(sa_type=sa.String(64), nullable=False)
    frequency: str = Field(sa_type=sa.String(24), nullable=False)
    interval: int = Field(default=1, nullable=False)
    # the position of the weekday in its month (1-4, or -1 for the last) for MONTHLY_BY_WEEKDAY
    week_of_month: int | None = Field(default=None)
    until: date | None = Field(default=None, sa_type=sa.Date)
    # how many occurrences the rule gave (booked or not): the series' length
    occurrence_count: int = Field(nullable=False)
    first_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
