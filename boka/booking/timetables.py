"""A weekly class timetable as concrete starts: pure computation, no I/O.

A timetable is written in wall-clock time of one zone (the tenant's): "Monday and Wednesday at
09:00 from 2 March until 27 April". Each date's start is that local time on that date, so a class
stays at 09:00 local across a DST change (its UTC instant moves by the hour instead). A local time
the clock skips that date (Berlin 02:30 on the last Sunday of March) is taken as the same instant
read with the offset before the jump, which the clock shows as 03:30: the gap's length later. A
local time the clock shows twice (when DST ends) is its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_SESSIONS = 400


@dataclass(frozen=True)
class WeeklyTimetable:
    weekdays: frozenset[int]  # 0 = Monday
    local_time: time
    first_day: date
    last_day: date  # inclusive


def timetable_starts(timetable: WeeklyTimetable, zone: ZoneInfo) -> list[datetime]:
    """Every start of ``timetable`` as a UTC instant, in order."""
    starts = []
    day = timetable.first_day
    while day <= timetable.last_day:
        if day.weekday() in timetable.weekdays:
            local = datetime.combine(day, timetable.local_time, zone)  # fold=0: the first one
            starts.append(local.astimezone(UTC))
        day += timedelta(days=1)
    return starts
