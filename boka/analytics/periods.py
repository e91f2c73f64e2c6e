"""A reporting period: local dates in the tenant's zone, cut into days, weeks or months, and the
SQL that puts a UTC instant into its local bucket on PostgreSQL and SQLite alike."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from boka.booking.availability import TimeRange
from boka.errors import InvalidRequest

# A year and a bit: a whole year in days, with room for a leap year and a week's overhang.
MAX_DAYS = 400


class Granularity(str, enum.Enum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting on Monday
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """Local dates ``first_day`` to ``last_day`` (both included) in ``zone``."""

    first_day: date
    last_day: date
    zone: str
    granularity: Granularity

    @classmethod
    def of(cls, first_day: date, last_day: date, zone: str, granularity: Granularity) -> Period:
        """The period asked for, or a VALIDATION_ERROR that says what is wrong with it."""
        if last_day < first_day:
            raise InvalidRequest("'to' must not be before 'from'.")
        if (last_day - first_day).days + 1 > MAX_DAYS:
            raise InvalidRequest(f"A period spans at most {MAX_DAYS} days.")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidRequest(f"Unknown time zone '{zone}'.") from error
        return cls(first_day, last_day, zone, granularity)

    @property
    def window(self) -> TimeRange:
        """The instants of the period: from the first day's local midnight to the one after
        the last day."""
        return TimeRange(local_midnight(self.first_day, self.zone),
                         local_midnight(self.last_day + timedelta(days=1), self.zone))

    def bucket_of(self, day: date) -> date:
        """The first day of the day, week or month that ``day`` is in."""
        if self.granularity is Granularity.DAY:
            return day
        if self.granularity is Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        return day.replace(day=1)

    def buckets(self) -> list[date]:
        """The first day of every bucket the period touches (the first may start before it)."""
        starts = []
        day = self.bucket_of(self.first_day)
        while day <= self.last_day:
            starts.append(day)
            if self.granularity is Granularity.DAY:
                day += timedelta(days=1)
            elif self.granularity is Granularity.WEEK:
                day += timedelta(days=7)
            else:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return starts


def local_midnight(day: date, zone: str) -> datetime:
    """The instant a local date begins (where midnight falls in a DST gap, the gap's end)."""
    wall = datetime.combine(day, time(0))
    instant = wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    if instant.astimezone(ZoneInfo(zone)).date() < day:  # the gap: 00:00 does not exist
        instant = wall.replace(tzinfo=ZoneInfo(zone), fold=1).astimezone(UTC)
    return instant


def bucket_expression(column: Any, period: Period, dialect: str) -> sa.ColumnElement[Any]:
    """SQL for the first local day of the bucket that the UTC instant ``column`` falls in:
    a DATE on PostgreSQL, 'YYYY-MM-DD' text on SQLite (see ``as_date``)."""
    if dialect == "postgresql":
        local = sa.func.timezone(period.zone, column)
        if period.granularity is Granularity.DAY:
            return sa.cast(local, sa.Date)
        return sa.cast(sa.func.date_trunc(period.granularity.value, local), sa.Date)
    shift = _sqlite_offset(column, period)
    if period.granularity is Granularity.DAY:
        return sa.func.date(column, shift)
    if period.granularity is Granularity.WEEK:
        return sa.func.date(column, shift, "-6 days", "weekday 1")
    return sa.func.date(column, shift, "start of month")


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _sqlite_offset(column: Any, period: Period) -> sa.ColumnElement[Any]:
    """SQLite has no time zones: the zone's UTC offset as a date() modifier ('+3600 seconds'),
    chosen by a CASE over the offset changes (DST) in and around the period."""
    window = period.window
    changes = utc_offsets(ZoneInfo(period.zone), window.start - timedelta(days=1),
                          window.end + timedelta(days=1))
    first, later = changes[0][1], changes[1:]
    if not later:
        return sa.literal(_modifier(first))
    whens = []
    offset = first
    for since, next_offset in later:
        whens.append((column < since, _modifier(offset)))
        offset = next_offset
    return sa.case(*whens, else_=_modifier(offset))


def _modifier(seconds: int) -> str:
    return f"{seconds:+d} seconds"


def utc_offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(since, offset in seconds) for [start, end): the offset at ``start``, then every change,
    found to the second (zones change offset on whole seconds)."""
    def offset_at(instant: datetime) -> int:
        delta = instant.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    changes = [(start, offset_at(start))]
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if offset_at(following) != changes[-1][1]:
            low, high = day, following  # offset_at(low) is the old one, offset_at(high) the new
            while (high - low) > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    middle = low + timedelta(seconds=1)
                if offset_at(middle) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            changes.append((high, offset_at(high)))
        day = following
    return changes
