"""compute_slots against a brute-force oracle, and examples a user would recognise.

The oracle knows nothing of the module's internals: it walks the timeline minute by minute in
UTC, reads the staff member's wall clock at each minute, and decides from the definition alone.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boka.booking.availability import (
    BusyBlock,
    DayOverride,
    ServiceRules,
    Slot,
    StaffCalendar,
    TimeRange,
    WeeklyInterval,
    compute_slots,
    group_slot_key,
    private_slot_key,
    working_ranges,
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
        calendars.append(StaffCalendar(staff_id, zone, tuple(weekly), overrides, time_off, busy))

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


# --------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------

MONDAY = date(2026, 6, 15)
NINE_TO_FIVE = (WeeklyInterval(0, time(9), time(17)),)


def berlin(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, fold=fold), BERLIN).astimezone(UTC)


def day_window(day: date) -> TimeRange:
    return TimeRange(berlin(day, 0), berlin(day + timedelta(days=1), 0))


def calendar(staff_id: uuid.UUID = ANNA, **fields: object) -> StaffCalendar:
    fields.setdefault("weekly", NINE_TO_FIVE)
    fields.setdefault("time_zone", "Europe/Berlin")
    return StaffCalendar(staff_id=staff_id, **fields)  # type: ignore[arg-type]


def rules(minutes: int = 60, **fields: object) -> ServiceRules:
    fields.setdefault("slot_interval", timedelta(minutes=minutes))
    return ServiceRules(service_id=SERVICE, duration=timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]


def slots_on(
    day: date, service: ServiceRules, *calendars: StaffCalendar, **options: object
) -> list[Slot]:
    options.setdefault("now", berlin(day, 0) - timedelta(days=1))
    return compute_slots(service, calendars, window=day_window(day), **options)  # type: ignore[arg-type]


def local_starts(slots: list[Slot]) -> list[str]:
    return [slot.start.astimezone(BERLIN).strftime("%H:%M%z") for slot in slots]


def test_spring_forward_offers_no_time_that_does_not_exist() -> None:
    sunday = date(2026, 3, 29)
    staff = calendar(weekly=(WeeklyInterval(6, time(1), time(5)),))
    slots = slots_on(sunday, rules(30), staff)
    assert local_starts(slots) == [
        "01:00+0100", "01:30+0100", "03:00+0200", "03:30+0200", "04:00+0200", "04:30+0200",
    ]  # fmt: skip


def test_fall_back_shift_lasts_five_hours_and_repeats_no_instant() -> None:
    sunday = date(2026, 10, 25)
    staff = calendar(weekly=(WeeklyInterval(6, time(0), time(4)),))
    slots = slots_on(sunday, rules(60), staff)
    assert local_starts(slots) == [
        "00:00+0200",
        "01:00+0200",
        "02:00+0200",
        "02:00+0100",
        "03:00+0100",
    ]
    assert len({slot.start for slot in slots}) == 5


def test_an_end_in_the_repeated_hour_is_its_second_occurrence() -> None:
    sunday = date(2026, 10, 25)
    staff = calendar(weekly=(WeeklyInterval(6, time(0), time(2, 30)),))
    assert working_ranges(staff, day_window(sunday)) == [
        TimeRange(berlin(sunday, 0), berlin(sunday, 2, 30, fold=1))
    ]


def test_an_end_exactly_when_the_clocks_go_back_is_its_first_occurrence() -> None:
    # At 03:00 CEST the clock goes back to 02:00; after that it never shows a time before 02:00.
    sunday = date(2026, 10, 25)
    staff = calendar(weekly=(WeeklyInterval(6, time(0), time(2)),))
    assert working_ranges(staff, day_window(sunday)) == [
        TimeRange(berlin(sunday, 0), berlin(sunday, 2))
    ]
    assert len(slots_on(sunday, rules(60), staff)) == 2


def test_a_local_time_in_the_spring_gap_starts_when_the_gap_ends() -> None:
    sunday = date(2026, 3, 29)
    staff = calendar(weekly=(WeeklyInterval(6, time(2, 30), time(4)),))
    assert working_ranges(staff, day_window(sunday)) == [
        TimeRange(berlin(sunday, 3), berlin(sunday, 4))
    ]


def test_a_break_removes_its_slots_and_the_grid_restarts_after_it() -> None:
    staff = calendar(weekly=(*NINE_TO_FIVE, WeeklyInterval(0, time(12), time(13), is_break=True)))
    slots = slots_on(MONDAY, rules(60), staff)
    assert [s.start for s in slots] == [berlin(MONDAY, h) for h in (9, 10, 11, 13, 14, 15, 16)]
    assert working_ranges(staff, day_window(MONDAY)) == [
        TimeRange(berlin(MONDAY, 9), berlin(MONDAY, 12)),
        TimeRange(berlin(MONDAY, 13), berlin(MONDAY, 17)),
    ]


def test_a_day_off_override_removes_the_day() -> None:
    staff = calendar(overrides=(DayOverride(MONDAY, day_off=True),))
    assert slots_on(MONDAY, rules(60), staff) == []
    assert slots_on(MONDAY + timedelta(days=7), rules(60), staff) != []


def test_an_override_with_hours_opens_a_sunday_and_ignores_weekly_breaks() -> None:
    sunday = MONDAY - timedelta(days=1)
    weekly = (WeeklyInterval(6, time(10, 30), time(11), is_break=True),)
    staff = calendar(
        weekly=weekly, overrides=(DayOverride(sunday, False, ((time(10), time(12)),)),)
    )
    assert slots_on(sunday, rules(60), calendar(weekly=weekly)) == []
    assert [s.start for s in slots_on(sunday, rules(60), staff)] == [
        berlin(sunday, 10),
        berlin(sunday, 11),
    ]


def test_min_notice_and_max_advance_bound_the_starts() -> None:
    service = rules(60, min_notice=timedelta(hours=2), max_advance=timedelta(hours=5))
    slots = slots_on(MONDAY, service, calendar(), now=berlin(MONDAY, 8))
    assert [s.start for s in slots] == [berlin(MONDAY, h) for h in (10, 11, 12, 13)]


def test_time_off_removes_its_hours() -> None:
    staff = calendar(time_off=(TimeRange(berlin(MONDAY, 10), berlin(MONDAY, 15)),))
    assert [s.start for s in slots_on(MONDAY, rules(60), staff)] == [
        berlin(MONDAY, h) for h in (9, 15, 16)
    ]


def test_buffers_keep_slots_clear_of_an_existing_booking() -> None:
    booking = BusyBlock(
        TimeRange(berlin(MONDAY, 11), berlin(MONDAY, 12)), private_slot_key(uuid.uuid4())
    )
    service = rules(60, slot_interval=timedelta(minutes=15), buffer_before=timedelta(minutes=15),
                    buffer_after=timedelta(minutes=15))  # fmt: skip
    starts = [s.start for s in slots_on(MONDAY, service, calendar(busy=(booking,)))]
    assert berlin(MONDAY, 9, 45) in starts  # its block ends 11:00, as the booking begins
    assert berlin(MONDAY, 12, 15) in starts  # its block starts 12:00, as the booking ends
    assert not [s for s in starts if berlin(MONDAY, 9, 45) < s < berlin(MONDAY, 12, 15)]


def test_group_class_counts_seats_and_its_own_bookings_do_not_block_it() -> None:
    service = rules(60, capacity=3)
    ten = berlin(MONDAY, 10)
    key = group_slot_key(SERVICE, ANNA, ten)
    two_bookings = tuple(BusyBlock(TimeRange(ten, ten + timedelta(hours=1)), key) for _ in range(2))
    staff = calendar(busy=two_bookings)

    by_start = {s.start: s for s in slots_on(MONDAY, service, staff, seats_taken={key: 2})}
    assert by_start[ten].seats_left == 1
    assert by_start[berlin(MONDAY, 9)].seats_left == 3
    assert ten not in {s.start for s in slots_on(MONDAY, service, staff, seats_taken={key: 3})}


def test_a_private_booking_blocks_a_group_class() -> None:
    ten = berlin(MONDAY, 10)
    booking = BusyBlock(TimeRange(ten, ten + timedelta(hours=1)), private_slot_key(uuid.uuid4()))
    slots = slots_on(MONDAY, rules(60, capacity=3), calendar(busy=(booking,)))
    assert ten not in {s.start for s in slots}


def test_any_staff_merges_staff_into_one_slot() -> None:
    anna = calendar(ANNA)
    boris = calendar(BORIS, weekly=(WeeklyInterval(0, time(13), time(18)),))
    slots = {s.start: s.staff_ids for s in slots_on(MONDAY, rules(60), boris, anna)}
    assert slots[berlin(MONDAY, 9)] == (ANNA,)
    assert slots[berlin(MONDAY, 14)] == (ANNA, BORIS)
    assert slots[berlin(MONDAY, 17)] == (BORIS,)


def test_group_seats_left_is_the_best_among_staff() -> None:
    ten = berlin(MONDAY, 10)
    taken = {group_slot_key(SERVICE, ANNA, ten): 2, group_slot_key(SERVICE, BORIS, ten): 1}
    slots = slots_on(
        MONDAY, rules(60, capacity=3), calendar(ANNA), calendar(BORIS), seats_taken=taken
    )
    ten_slot = next(s for s in slots if s.start == ten)
    assert (ten_slot.staff_ids, ten_slot.seats_left) == ((ANNA, BORIS), 2)


def test_a_busy_resource_removes_the_slot_for_everyone() -> None:
    ten = berlin(MONDAY, 10)
    room = BusyBlock(TimeRange(ten, ten + timedelta(minutes=30)), private_slot_key(uuid.uuid4()))
    slots = slots_on(MONDAY, rules(60), calendar(ANNA), calendar(BORIS), resource_busy=[room])
    assert ten not in {s.start for s in slots}
    assert berlin(MONDAY, 11) in {s.start for s in slots}


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError):
        TimeRange(datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11))
    with pytest.raises(ValueError):
        TimeRange(berlin(MONDAY, 11), berlin(MONDAY, 10))
    with pytest.raises(ValueError):
        WeeklyInterval(7, time(9), time(17))
    with pytest.raises(ValueError):
        calendar(time_zone="Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        rules(60, capacity=0)


def test_keys_follow_the_documented_format() -> None:
    start = datetime(2026, 6, 15, 12, 0, tzinfo=BERLIN)
    assert group_slot_key(SERVICE, ANNA, start) == f"{SERVICE}:{ANNA}:2026-06-15T10:00:00+00:00"
    booking_id = uuid.uuid4()
    assert private_slot_key(booking_id) == str(booking_id)


def test_a_month_for_twenty_staff_with_ten_thousand_bookings_runs() -> None:
    first = date(2026, 3, 2)
    week = tuple(
        interval
        for weekday in range(6)
        for interval in (
            WeeklyInterval(weekday, time(8), time(18)),
            WeeklyInterval(weekday, time(12), time(12, 30), is_break=True),
        )
    )
    zones = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
    calendars = []
    for staff_number in range(20):
        busy = tuple(
            BusyBlock(
                TimeRange(start, start + timedelta(minutes=45)),
                private_slot_key(uuid.UUID(int=staff_number * 1000 + n)),
            )
            for n in range(500)
            for start in [datetime.combine(first, time(0), UTC) + n * timedelta(minutes=85)]
        )
        calendars.append(
            StaffCalendar(uuid.UUID(int=staff_number + 1), zones[staff_number % 4], week, busy=busy)
        )
    window = TimeRange(
        datetime.combine(first, time(0), UTC),
        datetime.combine(first, time(0), UTC) + timedelta(days=30),
    )
    slots = compute_slots(
        rules(45, slot_interval=timedelta(minutes=15)), calendars, window=window, now=window.start
    )
    assert slots
    assert all(earlier.start < later.start for earlier, later in pairwise(slots))
