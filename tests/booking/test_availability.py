"""compute_slots against a brute-force oracle, on generated calendars (hypothesis).

The oracle knows nothing of the module's internals: it walks the timeline minute by minute in
UTC, reads the staff member's wall clock at each minute, and decides from the definition alone.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boka.booking.availability import (
    BusyBlock,
    DayOverride,
    ServiceRules,
    StaffCalendar,
    TimeRange,
    WeeklyInterval,
    busy_span,
    compute_slots,
    group_slot_key,
    private_slot_key,
)
from tests.booking.availability_oracle import oracle_slots

MINUTE = timedelta(minutes=1)
SERVICE = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ANNA = uuid.UUID("00000000-0000-0000-0000-000000000001")
BORIS = uuid.UUID("00000000-0000-0000-0000-000000000002")
BERLIN = ZoneInfo("Europe/Berlin")

# --------------------------------------------------------------------------------------------
# Property tests: generated scenarios, checked against the oracle
# --------------------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
CLOCK_CHANGES = {  # local dates on which the zone's clocks jump forward or back
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],  # by half an hour
}
CLOCK_JUMPS = {  # minutes of those days at which a gap or a repeated stretch begins or ends
    "Europe/Berlin": [120, 180],
    "America/New_York": [60, 120, 180],
    "Australia/Lord_Howe": [90, 120, 150],
}
ORDINARY_DAYS = [date(2026, 6, 17), date(2026, 1, 12)]


def fives(low: int, high: int) -> st.SearchStrategy[int]:
    """Multiples of 5 between low and high minutes."""
    return st.integers(low // 5, high // 5).map(lambda n: n * 5)


def clock_minutes(low: int, high: int) -> st.SearchStrategy[int]:
    """Minutes of the day in [low, high], multiples of 5: often in the small hours where clocks
    change, or exactly when they change, often whole hours (so intervals touch)."""
    if low > high:
        return st.nothing()
    choices = [fives(low, high)]
    if low <= 240:
        choices.append(fives(low, min(high, 240)))
    if changes := [m for m in (60, 90, 120, 150, 180) if low <= m <= high]:
        choices.append(st.sampled_from(changes))
    if hours := [h * 60 for h in range(24) if low <= h * 60 <= high]:
        choices.append(st.sampled_from(hours))
    return st.one_of(choices)


@st.composite
def local_intervals(draw: st.DrawFn, small_hours: bool = False) -> tuple[time, time]:
    start = draw(clock_minutes(0, 240 if small_hours else 1430))
    end = draw(clock_minutes(start + 5, min(start + 240, 1435)) | clock_minutes(start + 5, 1435))
    return as_time(start), as_time(end)


def as_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def likely_starts(calendar: StaffCalendar, window: TimeRange, step: timedelta) -> list[datetime]:
    """Instants in the window probably on the slot grid: working-interval starts plus a step or
    two. Only aims generated sessions and "now" at real candidates; the oracle decides."""
    zone = ZoneInfo(calendar.time_zone)
    first_day = window.start.astimezone(zone).date()
    starts = []
    for day in (first_day + timedelta(days=n) for n in range(6)):
        clocks = [w.start for w in calendar.weekly if w.weekday == day.weekday()]
        clocks += [start for o in calendar.overrides if o.day == day for start, _ in o.intervals]
        for clock in clocks:
            local_start = datetime.combine(day, clock, zone).astimezone(UTC)
            starts += [local_start + k * step for k in range(3)]
    return sorted(start for start in starts if window.start <= start < window.end)


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    """1-3 staff over 1-4 days: two times in three around a clock change, with staff in that
    zone working its small hours; else an ordinary day in any zone."""
    clock_change = draw(st.sampled_from([True, True, False]))
    if clock_change:
        main_zone = draw(st.sampled_from(sorted(CLOCK_CHANGES)))
        focus_day = draw(st.sampled_from(CLOCK_CHANGES[main_zone]))
    else:
        main_zone = draw(st.sampled_from(ZONES))
        focus_day = draw(st.sampled_from(ORDINARY_DAYS))
    local_midnight = datetime.combine(focus_day, time(0), ZoneInfo(main_zone)).astimezone(UTC)
    window_start = local_midnight + draw(st.integers(-30 * 60, 60)) * MINUTE
    length = draw(st.integers(24 * 60, 4 * 24 * 60))
    window = TimeRange(window_start, window_start + length * MINUTE)
    lattice = window_start - timedelta(minutes=window_start.minute % 30)  # a UTC half hour
    capacity = draw(st.sampled_from([1, 1, 2, 3]))
    rules = ServiceRules(
        service_id=SERVICE,
        duration=draw(fives(5, 180)) * MINUTE,
        buffer_before=draw(fives(0, 30)) * MINUTE,
        buffer_after=draw(fives(0, 30)) * MINUTE,
        slot_interval=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90])) * MINUTE,
        min_notice=draw(st.sampled_from([0, 0, 30, 120]) | fives(0, 1440)) * MINUTE,
        max_advance=draw(st.sampled_from([90 * 1440, 90 * 1440, 3000]) | fives(1440, 7000))
        * MINUTE,
        capacity=capacity,
    )

    def some_range(max_minutes: int) -> TimeRange:
        start = lattice + draw(fives(-600, length + 120)) * MINUTE
        return TimeRange(start, start + draw(fives(5, max_minutes)) * MINUTE)

    def weekly_interval(weekdays: list[int], small_hours: bool) -> list[WeeklyInterval]:
        start, end = draw(local_intervals(small_hours))
        weekday = draw(st.sampled_from(weekdays))
        intervals = [
            WeeklyInterval(
                weekday, start, end, is_break=draw(st.sampled_from([False, False, True]))
            )
        ]
        if end < time(23, 55) and draw(st.booleans()):  # a touching interval or break
            following = as_time(draw(clock_minutes(end.hour * 60 + end.minute + 5, 1435)))
            intervals.append(WeeklyInterval(weekday, end, following, is_break=draw(st.booleans())))
        return intervals

    staff_ids = [
        uuid.UUID(int=n) for n in draw(st.sets(st.integers(1, 99), min_size=1, max_size=3))
    ]
    calendars: list[StaffCalendar] = []
    for staff_id in staff_ids:
        zone = draw(st.sampled_from([main_zone] * 4 + ZONES))
        local_first = window.start.astimezone(ZoneInfo(zone)).date()
        # Around a clock change, staff in that zone mostly work the small hours of that day.
        small_hours = (
            clock_change and zone == main_zone and draw(st.sampled_from([True, True, False]))
        )
        weekdays = [focus_day.weekday()] * 6 + [
            (local_first + timedelta(days=n)).weekday() for n in range(5)
        ]
        weekly: list[WeeklyInterval] = []
        if calendars and draw(st.booleans()):
            weekly = list(calendars[-1].weekly)  # colleagues often share hours
        for _ in range(draw(st.integers(0 if weekly else 1, 5))):
            weekly += weekly_interval(
                weekdays if small_hours else weekdays + list(range(7)), small_hours
            )
        overrides = tuple(
            DayOverride(
                day=local_first + timedelta(days=offset),
                day_off=draw(st.sampled_from([False, False, True])),
                intervals=tuple(draw(st.lists(local_intervals(small_hours), max_size=3))),
            )
            for offset in draw(st.sets(st.integers(-1, 4), max_size=2))
        )
        busy = tuple(
            BusyBlock(some_range(120), private_slot_key(draw(st.uuids())))
            for _ in range(draw(st.integers(0, 4)))
        )
        time_off = tuple(some_range(300) for _ in range(draw(st.integers(0, 2))))
        # Booking limits reached: whole local days (as boka.booking.limits gives a full day),
        # or any range (a week or month seen through the window).
        limited = []
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            if draw(st.booleans()):
                full_day = local_first + timedelta(days=draw(st.integers(-1, 4)))
                limited.append(busy_span(
                    datetime.combine(full_day, time(0), ZoneInfo(zone)),
                    datetime.combine(full_day + timedelta(days=1), time(0), ZoneInfo(zone)),
                ))
            else:
                full = some_range(1440)
                limited.append(busy_span(full.start, full.end))
        calendars.append(StaffCalendar(
            staff_id, zone, tuple(weekly), overrides, time_off, busy, limited=tuple(limited)
        ))

    likely = {c.staff_id: likely_starts(c, window, rules.slot_interval) for c in calendars}
    anywhere = sorted({start for starts in likely.values() for start in starts}) or [lattice]
    # Group sessions at likely starts: seats taken, and 0-2 bookings each (own or resource).
    seats_taken: dict[str, int] = {}
    session_busy: dict[uuid.UUID, list[BusyBlock]] = {staff_id: [] for staff_id in staff_ids}
    resource_busy: list[BusyBlock] = []
    for _ in range(draw(st.integers(0, 6)) if capacity > 1 else 0):
        staff_id = draw(st.sampled_from(staff_ids))
        session_start = draw(st.sampled_from(likely[staff_id] or anywhere))
        key = group_slot_key(SERVICE, staff_id, session_start)
        seats_taken[key] = draw(st.integers(0, capacity))
        block = TimeRange(
            session_start - rules.buffer_before, session_start + rules.duration + rules.buffer_after
        )
        for _ in range(draw(st.integers(0, 2))):
            own = draw(st.booleans())
            (session_busy[staff_id] if own else resource_busy).append(BusyBlock(block, key))
    calendars = [replace(c, busy=c.busy + tuple(session_busy[c.staff_id])) for c in calendars]
    resource_busy += [
        BusyBlock(some_range(120), private_slot_key(draw(st.uuids())))
        for _ in range(draw(st.integers(0, 2)))
    ]

    how = draw(st.sampled_from(["before", "before", "anywhere", "notice", "advance"]))
    if how == "before":
        now = lattice - draw(fives(0, 2 * 1440)) * MINUTE
    elif how == "anywhere":
        now = window_start + draw(st.integers(-1440, length)) * MINUTE
        now += timedelta(seconds=draw(st.integers(0, 59)))
    else:  # aim the notice or advance bound exactly at a likely candidate
        bound = rules.min_notice if how == "notice" else rules.max_advance
        now = draw(st.sampled_from(anywhere)) - bound
    return {
        "rules": rules,
        "calendars": calendars,
        "window": window,
        "now": now,
        "seats_taken": seats_taken,
        "resource_busy": resource_busy,
    }


@st.composite
def clock_change_scenarios(draw: st.DrawFn) -> dict:
    """Staff working the small hours of a night the clocks change: starts and ends in the gap,
    in the repeated hour, and exactly when the clocks jump."""
    zone = draw(st.sampled_from(sorted(CLOCK_CHANGES)))
    day = draw(st.sampled_from(CLOCK_CHANGES[zone]))
    local_midnight = datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)
    window = TimeRange(
        local_midnight - draw(fives(0, 120)) * MINUTE,
        local_midnight + draw(fives(240, 1440)) * MINUTE,
    )
    # The minutes of the day the clocks jump from or to, and some just inside and outside.
    jumps = CLOCK_JUMPS[zone]
    near_jumps = sorted({m + d for m in jumps for d in (-30, -5, 5, 30)})

    def clock(low: int, high: int) -> int:
        choices = [fives(low, high)]
        for minutes in (jumps, near_jumps):
            if inside := [m for m in minutes if low <= m <= high]:
                choices.append(st.sampled_from(inside))
        return draw(st.one_of(choices))

    def hours() -> tuple[time, time]:
        start = clock(0, 240)
        return as_time(start), as_time(clock(start + 5, start + 300))

    calendars = []
    for staff_id in (ANNA, BORIS)[: draw(st.integers(1, 2))]:
        weekly = [
            WeeklyInterval(day.weekday(), *hours(), is_break=is_break)
            for is_break in draw(
                st.lists(st.sampled_from([False, False, True]), min_size=1, max_size=4)
            )
        ]
        overrides: tuple[DayOverride, ...] = ()
        if draw(st.integers(0, 4)) == 0:
            overrides = (
                DayOverride(day, False, tuple(hours() for _ in range(draw(st.integers(1, 2))))),
            )
        busy = []
        for _ in range(draw(st.integers(0, 2))):
            start = local_midnight + draw(fives(0, 300)) * MINUTE
            busy.append(
                BusyBlock(
                    TimeRange(start, start + draw(fives(5, 60)) * MINUTE),
                    private_slot_key(draw(st.uuids())),
                )
            )
        calendars.append(StaffCalendar(staff_id, zone, tuple(weekly), overrides, busy=tuple(busy)))
    rules = ServiceRules(
        service_id=SERVICE,
        duration=draw(fives(5, 90)) * MINUTE,
        buffer_before=draw(fives(0, 15)) * MINUTE,
        buffer_after=draw(fives(0, 15)) * MINUTE,
        slot_interval=draw(st.sampled_from([5, 10, 15, 30, 60])) * MINUTE,
    )
    now = window.start - timedelta(days=1)
    return {
        "rules": rules,
        "calendars": calendars,
        "window": window,
        "now": now,
        "seats_taken": {},
        "resource_busy": [],
    }


@st.composite
def group_class_scenarios(draw: st.DrawFn) -> dict:
    """Group classes on one ordinary day: sessions with bookings (their own, the room's, and
    others overlapping them), seats taken, and colleagues teaching at the same time."""
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(ORDINARY_DAYS))
    window = TimeRange(
        datetime.combine(day, time(0), ZoneInfo(zone)),
        datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(zone)),
    )
    hours = [draw(local_intervals()) for _ in range(draw(st.integers(1, 2)))]
    rules = ServiceRules(
        service_id=SERVICE,
        duration=draw(fives(15, 120)) * MINUTE,
        buffer_before=draw(fives(0, 30)) * MINUTE,
        buffer_after=draw(fives(0, 30)) * MINUTE,
        slot_interval=draw(st.sampled_from([15, 30, 60])) * MINUTE,
        capacity=draw(st.integers(2, 4)),
    )
    staff = [
        StaffCalendar(staff_id, zone, tuple(WeeklyInterval(day.weekday(), *h) for h in hours))
        for staff_id in (ANNA, BORIS, uuid.UUID(int=3))[: draw(st.integers(1, 3))]
    ]
    seats_taken: dict[str, int] = {}
    busy: dict[uuid.UUID, list[BusyBlock]] = {c.staff_id: [] for c in staff}
    resource_busy: list[BusyBlock] = []
    for _ in range(draw(st.integers(1, 6))):
        calendar = draw(st.sampled_from(staff))
        session_start = draw(
            st.sampled_from(likely_starts(calendar, window, rules.slot_interval) or [window.start])
        )
        key = group_slot_key(SERVICE, calendar.staff_id, session_start)
        seats_taken[key] = draw(st.integers(0, rules.capacity))
        block = TimeRange(
            session_start - rules.buffer_before, session_start + rules.duration + rules.buffer_after
        )
        for _ in range(draw(st.integers(0, 3))):
            (busy[calendar.staff_id] if draw(st.booleans()) else resource_busy).append(
                BusyBlock(block, key)
            )
        if draw(st.booleans()):  # something else overlapping the session: a long or a short block
            start = session_start - draw(fives(-60, 300)) * MINUTE
            other = BusyBlock(
                TimeRange(start, start + draw(fives(5, 400)) * MINUTE),
                private_slot_key(draw(st.uuids())),
            )
            (busy[calendar.staff_id] if draw(st.booleans()) else resource_busy).append(other)
    calendars = [replace(c, busy=tuple(busy[c.staff_id])) for c in staff]
    now = window.start - timedelta(days=1)
    return {
        "rules": rules,
        "calendars": calendars,
        "window": window,
        "now": now,
        "seats_taken": seats_taken,
        "resource_busy": resource_busy,
    }


def assert_matches_oracle(scenario: dict) -> None:
    slots = compute_slots(**scenario)
    expected = oracle_slots(**scenario)

    starts = [slot.start for slot in slots]
    assert starts == sorted(set(starts)), "starts must be strictly increasing"
    got = {slot.start: (slot.staff_ids, slot.seats_left) for slot in slots}
    extra = sorted(set(got) - set(expected))
    missing = sorted(set(expected) - set(got))
    assert not extra, f"offered but not bookable: {extra[:5]}"
    assert not missing, f"bookable but not offered: {missing[:5]}"
    assert got == expected
    assert all(slot.end == slot.start + scenario["rules"].duration for slot in slots)
    assert all(slot.start.utcoffset() == timedelta(0) for slot in slots)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_slots_are_exactly_the_bookable_starts(scenario: dict) -> None:
    assert_matches_oracle(scenario)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clock_change_scenarios())
def test_slots_are_exactly_the_bookable_starts_when_clocks_change(scenario: dict) -> None:
    assert_matches_oracle(scenario)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_class_scenarios())
def test_group_class_slots_are_exactly_the_bookable_starts(scenario: dict) -> None:
    assert_matches_oracle(scenario)
