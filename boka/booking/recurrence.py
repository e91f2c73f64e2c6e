"""The starts of a recurring series: RFC 5545 recurrence (dateutil's rrule) over local wall time.

A series keeps its wall time in one zone (the tenant's or the customer's): the rule runs on
naive local datetimes, and each is then placed in the zone, so a weekly 09:00 stays 09:00 local
across a daylight-saving change (its UTC instant moves by the hour instead). A wall time that
does not exist on some date (inside the spring-forward gap, e.g. 02:30 in Berlin on the last
Sunday of March) is read with the offset before the change, i.e. it moves forward by the gap
(03:30), as RFC 5545 says of such times. Pure computation, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil import rrule

from boka.errors import UserErrorCode, UserInputError
from boka.models.series import SeriesFrequency
from boka.validation import MAX_YEAR, invalid

# At most this many occurrences in one series: a year of weekly appointments.
MAX_OCCURRENCES = 52
MAX_INTERVAL = 99
LAST_WEEK = -1  # week_of_month: the last such weekday of the month


@dataclass(frozen=True)
class Recurrence:
    """How a series repeats: exactly one of ``count`` and ``until`` (a local date, inclusive)."""

    frequency: SeriesFrequency
    interval: int = 1
    count: int | None = None
    until: date | None = None
    # MONTHLY_BY_WEEKDAY: 1-4, or -1 for the last; None: the first start's own position
    week_of_month: int | None = None


def week_of_month_of(day: date) -> int:
    """The position of ``day``'s weekday in its month: 1 for the first ... 4; the fifth (which
    not every month has) counts as the last (-1)."""
    position = (day.day - 1) // 7 + 1
    return LAST_WEEK if position == 5 else position


def check_recurrence(rule: Recurrence, first_local: date) -> Recurrence:
    """The rule, with MONTHLY_BY_WEEKDAY's position filled in; INVALID_INPUT for a malformed
    one (a count above the cap is SERIES_TOO_LONG)."""
    if (rule.count is None) == (rule.until is None):
        raise invalid("Give either a number of occurrences or an end date.", "recurrence.count")
    if not 1 <= rule.interval <= MAX_INTERVAL:
        raise invalid(f"Repeat every 1 to {MAX_INTERVAL} periods.", "recurrence.interval")
    if rule.count is not None:
        if rule.count < 1:
            raise invalid("A series has at least one occurrence.", "recurrence.count")
        if rule.count > MAX_OCCURRENCES:
            raise too_long("recurrence.count")
    if rule.until is not None and rule.until < first_local:
        raise invalid("The end date is before the first occurrence.", "recurrence.until")
    week = rule.week_of_month
    if rule.frequency is SeriesFrequency.MONTHLY_BY_WEEKDAY:
        if week is None:
            week = week_of_month_of(first_local)
        elif week not in (1, 2, 3, 4, LAST_WEEK):
            raise invalid("Use 1 to 4, or -1 for the last.", "recurrence.weekOfMonth")
    elif week is not None:
        raise invalid(
            "Only a monthly series falls on a week of the month.", "recurrence.weekOfMonth"
        )
    return Recurrence(rule.frequency, rule.interval, rule.count, rule.until, week)


def too_long(field: str) -> UserInputError:
    return UserInputError(
        UserErrorCode.SERIES_TOO_LONG,
        f"A series has at most {MAX_OCCURRENCES} occurrences; book the rest as another series.",
        field,
    )


def occurrence_starts(first_start: datetime, zone: ZoneInfo, rule: Recurrence) -> list[datetime]:
    """The starts of the series (in UTC) whose first falls on or after ``first_start``, each at
    ``first_start``'s wall time in ``zone``. A rule that gives more than MAX_OCCURRENCES is
    SERIES_TOO_LONG; one that gives none (a monthly position the first month no longer has
    before ``until``) is INVALID_INPUT."""
    wall = first_start.astimezone(zone).replace(tzinfo=None)
    rule = check_recurrence(rule, wall.date())
    keywords: dict[str, object] = {"dtstart": wall, "interval": rule.interval}
    if rule.frequency is SeriesFrequency.DAILY:
        frequency = rrule.DAILY
    elif rule.frequency is SeriesFrequency.WEEKLY:
        frequency = rrule.WEEKLY
    else:
        frequency = rrule.MONTHLY
        weekday = rrule.weekday(wall.weekday())
        keywords["byweekday"] = weekday(rule.week_of_month)
    if rule.count is not None:
        keywords["count"] = rule.count
    else:
        assert rule.until is not None
        keywords["until"] = datetime.combine(rule.until, time.max)
    # lazily, one past the cap at most: enough to know the cap is passed
    expanded = rrule.rrule(frequency, **keywords)  # type: ignore[arg-type]
    walls = list(islice(expanded, MAX_OCCURRENCES + 1))
    if len(walls) > MAX_OCCURRENCES:
        raise too_long("recurrence.until")
    if not walls:
        raise invalid("No date up to the end date fits the rule.", "recurrence.until")
    if walls[-1].year >= MAX_YEAR:  # the zone's conversion then stays within datetime's range
        raise invalid(f"A series ends before the year {MAX_YEAR}.", "recurrence.interval")
    return [local_instant(each, zone) for each in walls]


def local_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of a naive wall time in ``zone``; one in a gap moves forward by it."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
