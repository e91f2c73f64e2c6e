"""compute_slots on examples a salon would recognise: DST nights, breaks, overrides, notice,
buffers, classes, resources, any-staff merging."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

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
