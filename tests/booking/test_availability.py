"""compute_slots against a brute-force oracle, and examples a user would recognise.

The oracle knows nothing of the module's internals: it walks the timeline minute by minute in
UTC, reads the staff member's wall clock at each minute, and decides from the definition alone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
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
    instants = [first + index * MINUTE for index in range(count)]
    walls = [instant.astimezone(zone) for instant in instants]
    days = [wall.date() for wall in walls]
    clocks = [wall.time() for wall in walls]
    shown_so_far: list[time] = []
    latest: dict[date, time] = {}
    for day, clock in zip(days, clocks):
        latest[day] = max(latest.get(day, clock), clock)
        shown_so_far.append(latest[day])
    still_to_show: list[time] = [time(0)] * count
    earliest: dict[date, time] = {}
    for index in reversed(range(count)):
        day = days[index]
        earliest[day] = min(earliest.get(day, clocks[index]), clocks[index])
        still_to_show[index] = earliest[day]

    overrides = {override.day: override for override in calendar.overrides}
    working = []
    for index, day in enumerate(days):

        def inside(start: time, end: time) -> bool:
            return shown_so_far[index] >= start and still_to_show[index] < end  # noqa: B023

        if day in overrides:
            override = overrides[day]
            works = not override.day_off and any(inside(s, e) for s, e in override.intervals)
        else:
            todays = [w for w in calendar.weekly if w.weekday == day.weekday()]
            works = any(inside(w.start, w.end) for w in todays if not w.is_break) and not any(
                inside(w.start, w.end) for w in todays if w.is_break
            )
        if any(off.start <= instants[index] < off.end for off in calendar.time_off):
            works = False
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
    """Bookable starts of one staff member (window.start must be minute-aligned), with seats left."""
    first = window.start - timedelta(days=3)
    count = (window.end + timedelta(hours=30) - first) // MINUTE
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
# Property test
# --------------------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
CLOCK_CHANGES = {  # local dates on which the zone's clocks jump forward or back
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],  # by half an hour
}
ORDINARY_DAYS = [date(2026, 6, 17), date(2026, 1, 12)]


def fives(low: int, high: int) -> st.SearchStrategy[int]:
    """Multiples of 5 between low and high minutes."""
    return st.integers(low // 5, high // 5).map(lambda n: n * 5)


def clock_minutes(low: int, high: int) -> st.SearchStrategy[int]:
    """Minutes of the day in [low, high]: often whole hours (so intervals touch), often the small
    hours where the clocks change, else any multiple of 5."""
    hours = (
        st.integers(-(-low // 60), high // 60).map(lambda h: h * 60)
        if high // 60 * 60 >= low
        else fives(low, high)
    )
    small_hours = fives(low, min(high, 240)) if low <= 240 else fives(low, high)
    return st.one_of(hours, small_hours, fives(low, high))


@st.composite
def local_intervals(draw: st.DrawFn) -> tuple[time, time]:
    start = draw(clock_minutes(0, 1430))
    end = draw(clock_minutes(start + 5, min(start + 300, 1435)) | clock_minutes(start + 5, 1435))
    return time(start // 60, start % 60), time(end // 60, end % 60)


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    """1-3 staff, mostly in one zone, over 1-4 days around a clock change or an ordinary day."""
    main_zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(CLOCK_CHANGES.get(main_zone, []) * 3 + ORDINARY_DAYS))
    local_midnight = datetime.combine(day, time(0), ZoneInfo(main_zone)).astimezone(UTC)
    window_start = local_midnight + draw(st.integers(-30 * 60, 60)) * MINUTE
    length = draw(st.integers(24 * 60, 4 * 24 * 60))
    window = TimeRange(window_start, window_start + length * MINUTE)
    lattice = window_start - timedelta(minutes=window_start.minute % 30)  # a UTC half hour
    capacity = draw(st.integers(1, 3))
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
    if draw(st.booleans()):  # on the 5-minute lattice, so notice and advance bounds are hit exactly
        now = lattice + draw(fives(-3 * 1440, length)) * MINUTE
    else:
        now = window_start + draw(st.integers(-3 * 1440, length)) * MINUTE
        now += timedelta(seconds=draw(st.integers(0, 59)))

    def some_range(max_minutes: int) -> TimeRange:
        start = lattice + draw(fives(-600, length + 120)) * MINUTE
        return TimeRange(start, start + draw(fives(5, max_minutes)) * MINUTE)

    staff_ids = [
        uuid.UUID(int=n) for n in draw(st.sets(st.integers(1, 99), min_size=1, max_size=3))
    ]
    calendars: list[StaffCalendar] = []
    seats_taken: dict[str, int] = {}
    session_blocks: list[BusyBlock] = []
    for staff_id in staff_ids:
        zone = draw(st.sampled_from([main_zone] * 5 + ZONES))
        local_first = window.start.astimezone(ZoneInfo(zone)).date()
        window_weekdays = [(local_first + timedelta(days=n)).weekday() for n in range(5)]
        weekly = []
        for _ in range(draw(st.integers(1, 8))):
            start, end = draw(local_intervals())
            weekday = draw(st.sampled_from(window_weekdays * 3 + list(range(7))))
            is_break = draw(st.sampled_from([False, False, True]))
            weekly.append(WeeklyInterval(weekday, start, end, is_break=is_break))
        overrides = tuple(
            DayOverride(
                day=local_first + timedelta(days=offset),
                day_off=draw(st.sampled_from([False, False, True])),
                intervals=tuple(draw(st.lists(local_intervals(), max_size=3))),
            )
            for offset in draw(st.sets(st.integers(-1, 4), max_size=2))
        )
        busy = [
            BusyBlock(
                some_range(240), private_slot_key(uuid.UUID(int=draw(st.integers(100, 10**6))))
            )
            for _ in range(draw(st.integers(0, 8)))
        ]
        # Group sessions on UTC half hours: seats taken, and 0-2 bookings each (own or resource).
        for _ in range(draw(st.integers(0, 6)) if capacity > 1 else 0):
            session_start = lattice + draw(st.integers(0, length // 30)) * 30 * MINUTE
            key = group_slot_key(SERVICE, staff_id, session_start)
            seats_taken[key] = draw(st.integers(0, capacity))
            block = TimeRange(
                session_start - rules.buffer_before,
                session_start + rules.duration + rules.buffer_after,
            )
            for _ in range(draw(st.integers(0, 2))):
                (busy if draw(st.booleans()) else session_blocks).append(BusyBlock(block, key))
        calendars.append(
            StaffCalendar(
                staff_id=staff_id,
                time_zone=zone,
                weekly=tuple(weekly),
                overrides=overrides,
                time_off=tuple(some_range(600) for _ in range(draw(st.integers(0, 3)))),
                busy=tuple(busy),
            )
        )
    resource_busy = session_blocks + [
        BusyBlock(some_range(120), private_slot_key(uuid.uuid4()))
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {
        "rules": rules,
        "calendars": calendars,
        "window": window,
        "now": now,
        "seats_taken": seats_taken,
        "resource_busy": resource_busy,
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_slots_are_exactly_the_bookable_starts(scenario: dict) -> None:
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


def test_a_local_time_in_the_spring_gap_starts_when_the_gap_ends() -> None:
    sunday = date(2026, 3, 29)
    staff = calendar(weekly=(WeeklyInterval(6, time(2, 30), time(4)),))
    assert working_ranges(staff, day_window(sunday)) == [
        TimeRange(berlin(sunday, 3), berlin(sunday, 4))
    ]


def test_a_break_removes_its_slots_and_the_grid_restarts_after_it() -> None:
    staff = calendar(weekly=NINE_TO_FIVE + (WeeklyInterval(0, time(12), time(13), is_break=True),))
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
    assert all(earlier.start < later.start for earlier, later in zip(slots, slots[1:]))
