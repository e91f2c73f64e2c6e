"""A brute-force oracle for compute_slots: walks the timeline minute by minute in UTC, reads the
staff member's wall clock at each minute, and decides bookability from the definition alone."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from boka.booking.availability import (
    BusyBlock,
    ServiceRules,
    StaffCalendar,
    TimeRange,
    busy_ranges,
)

MINUTE = timedelta(minutes=1)
SERVICE = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ANNA = uuid.UUID("00000000-0000-0000-0000-000000000001")
BORIS = uuid.UUID("00000000-0000-0000-0000-000000000002")
BERLIN = ZoneInfo("Europe/Berlin")

# --------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------


def oracle_working_minutes(calendar: StaffCalendar, first: datetime, count: int) -> list[bool]:
    """Whether each minute from ``first`` on is net working time for the calendar.

    A local interval [s, e) of a day contains an instant when, on that local day, the wall clock
    has already shown s or later, and will still show a time before e. That is the whole DST
    rule: a skipped start begins when the clock jumps past it, a repeated start counts from its
    first showing, a repeated end lasts until its last showing.
    """
    zone = ZoneInfo(calendar.time_zone)
    # The clock is read over a wider span, so every local day these minutes fall in is seen whole.
    margin = 26 * 60
    instants = [first + (index - margin) * MINUTE for index in range(count + 2 * margin)]
    walls = [instant.astimezone(zone) for instant in instants]
    days = [wall.date() for wall in walls]
    clocks = [wall.time() for wall in walls]
    shown_so_far: list[time] = []
    latest: dict[date, time] = {}
    for day, clock in zip(days, clocks, strict=True):
        latest[day] = max(latest.get(day, clock), clock)
        shown_so_far.append(latest[day])
    still_to_show: list[time] = [time(0)] * len(instants)
    earliest: dict[date, time] = {}
    for index in reversed(range(len(instants))):
        day = days[index]
        earliest[day] = min(earliest.get(day, clocks[index]), clocks[index])
        still_to_show[index] = earliest[day]

    def hours_of(day: date) -> tuple[list[tuple[time, time]], list[tuple[time, time]]]:
        """The day's working intervals and breaks, as the user entered them."""
        override = next((o for o in calendar.overrides if o.day == day), None)
        if override is not None:
            return ([] if override.day_off else list(override.intervals)), []
        todays = [w for w in calendar.weekly if w.weekday == day.weekday()]
        return [(w.start, w.end) for w in todays if not w.is_break], [
            (w.start, w.end) for w in todays if w.is_break
        ]

    hours = {day: hours_of(day) for day in set(days)}
    working = []
    for index in range(margin, margin + count):
        instant = instants[index]
        work, breaks = hours[days[index]]
        reached, pending = shown_so_far[index], still_to_show[index]
        works = any(reached >= start and pending < end for start, end in work)
        works = works and not any(reached >= start and pending < end for start, end in breaks)
        works = works and not any(off.start <= instant < off.end for off in calendar.time_off)
        working.append(works)
    return working


def oracle_starts(
    rules: ServiceRules,
    calendar: StaffCalendar,
    *,
    window: TimeRange,
    now: datetime,
    seats_taken: dict[str, int],
    resource_busy: list[BusyBlock],
) -> dict[datetime, int]:
    """One staff member's bookable starts (window.start minute-aligned) and their seats left."""
    # From before the start of any working range (at most a local day long) that holds a start
    # in the window, to past the end of a service starting last.
    first = window.start - timedelta(hours=26)
    count = (window.end + rules.duration + MINUTE - first) // MINUTE
    working = oracle_working_minutes(calendar, first, count)
    run_start = [0] * count  # index where the working run containing this minute began
    for index in range(1, count):
        run_start[index] = run_start[index - 1] if working[index - 1] else index
    run_end = [count] * count  # index of the first non-working minute from here on
    for index in reversed(range(count - 1)):
        run_end[index] = run_end[index + 1] if working[index + 1] else index + 1

    starts = {}
    blocks = list(calendar.busy) + list(resource_busy)
    limits = busy_ranges(calendar.limited)
    for index in range((window.start - first) // MINUTE, count):
        start = first + index * MINUTE
        if start >= window.end:
            break
        if not working[index] or ((index - run_start[index]) * MINUTE) % rules.slot_interval:
            continue
        if start + rules.duration > first + run_end[index] * MINUTE:
            continue
        if start < now + rules.min_notice or start > now + rules.max_advance:
            continue
        if any(full.start <= start < full.end for full in limits):  # a booking limit is reached
            continue
        own_key = f"{SERVICE}:{calendar.staff_id}:{start.isoformat()}"
        block_start = start - rules.buffer_before
        block_end = start + rules.duration + rules.buffer_after
        if any(
            block.range.start < block_end
            and block_start < block.range.end
            and not (rules.capacity > 1 and block.slot_key == own_key)
            for block in blocks
        ):
            continue
        seats_left = rules.capacity - seats_taken.get(own_key, 0) if rules.capacity > 1 else 1
        if seats_left >= 1:
            starts[start] = seats_left
    return starts


def oracle_slots(
    rules: ServiceRules,
    calendars: list[StaffCalendar],
    *,
    window: TimeRange,
    now: datetime,
    seats_taken: dict[str, int],
    resource_busy: list[BusyBlock],
) -> dict[datetime, tuple[tuple[uuid.UUID, ...], int]]:
    offers: dict[datetime, dict[uuid.UUID, int]] = {}
    for calendar in calendars:
        starts = oracle_starts(
            rules,
            calendar,
            window=window,
            now=now,
            seats_taken=seats_taken,
            resource_busy=resource_busy,
        )
        for start, seats_left in starts.items():
            offers.setdefault(start, {})[calendar.staff_id] = seats_left
    return {
        start: (tuple(sorted(by_staff, key=str)), max(by_staff.values()))
        for start, by_staff in offers.items()
    }
