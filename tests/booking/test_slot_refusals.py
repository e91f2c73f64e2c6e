"""explain_start against compute_slots (hypothesis): a start is offered with a staff member
exactly when the explanation finds no reason for them, on the generated calendars of the
availability property tests (time off, overrides, breaks, buffers, DST nights, group classes).
And a few hand-made cases that pin which reason each rule gives."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

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
)
from boka.booking.refusals import HeldBlock, RefusalReason, explain_start
from tests.booking.test_availability import (
    clock_change_scenarios,
    group_class_scenarios,
    scenarios,
)

MINUTE = timedelta(minutes=1)
R = RefusalReason


def candidate_starts(scenario: dict, draw: st.DrawFn) -> list[datetime]:
    """Starts to ask about: every offered start, every 5 minutes of the window's first day
    (most of them refused, for all sorts of reasons), and some random instants."""
    window: TimeRange = scenario["window"]
    offered = [slot.start for slot in compute_slots(**scenario)]
    lattice = [window.start + k * 5 * MINUTE for k in range(0, 24 * 12)]
    lattice = [start for start in lattice if start < window.end]
    seconds = int((window.end - window.start).total_seconds())
    random = [
        window.start + timedelta(seconds=draw(st.integers(0, seconds - 1))) for _ in range(10)
    ]
    return sorted(set(offered + lattice + random))


def assert_explained_iff_not_offered(scenario: dict, starts: list[datetime]) -> None:
    slots = compute_slots(**scenario)
    offered = {(slot.start, staff_id) for slot in slots for staff_id in slot.staff_ids}
    inputs = {key: scenario[key] for key in ("rules", "calendars", "now", "seats_taken", "resource_busy")}
    limited = {calendar.staff_id: calendar.limited for calendar in scenario["calendars"]}
    for start in starts:
        refusals = explain_start(**inputs, start=start)
        assert set(refusals) == {calendar.staff_id for calendar in scenario["calendars"]}
        for staff_id, reasons in refusals.items():
            if (start, staff_id) in offered:
                assert reasons == (), f"{start} is offered with {staff_id}, yet {reasons}"
            else:
                assert reasons, f"{start} is not offered with {staff_id}, and no reason given"
                if not limited[staff_id]:
                    assert R.LIMIT_REACHED not in {r.reason for r in reasons}
                assert R.EXTERNAL_BUSY not in {r.reason for r in reasons}


@st.composite
def with_starts(draw: st.DrawFn, scenario_strategy: st.SearchStrategy[dict]) -> tuple[dict, list]:
    scenario = draw(scenario_strategy)
    return scenario, candidate_starts(scenario, draw)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_starts(scenarios()))
def test_a_start_is_offered_iff_no_reason_refuses_it(case: tuple[dict, list]) -> None:
    assert_explained_iff_not_offered(*case)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_starts(clock_change_scenarios()))
def test_a_start_is_offered_iff_no_reason_refuses_it_when_clocks_change(
    case: tuple[dict, list],
) -> None:
    assert_explained_iff_not_offered(*case)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_starts(group_class_scenarios()))
def test_a_class_start_is_offered_iff_no_reason_refuses_it(case: tuple[dict, list]) -> None:
    assert_explained_iff_not_offered(*case)


# --- which reason each rule gives --------------------------------------------------------------

SERVICE = uuid.UUID(int=10)
ANNA = uuid.UUID(int=1)
MONDAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)
RULES = ServiceRules(
    SERVICE, duration=timedelta(minutes=60), buffer_after=timedelta(minutes=15),
    slot_interval=timedelta(minutes=30), min_notice=timedelta(hours=2),
    max_advance=timedelta(days=30),
)


def at(clock: str, day: date = MONDAY) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime.combine(day, time(hours, minutes), UTC)


def anna(**changes: object) -> StaffCalendar:
    week = (
        WeeklyInterval(MONDAY.weekday(), time(9), time(17)),
        WeeklyInterval(MONDAY.weekday(), time(12), time(13), is_break=True),
    )
    return StaffCalendar(ANNA, "UTC", week, **changes)  # type: ignore[arg-type]


def reasons(start: datetime, calendar: StaffCalendar | None = None, *, rules: ServiceRules = RULES,
            now: datetime = NOW, **inputs: object) -> list[RefusalReason]:
    explained = explain_start(rules, [calendar or anna()], start=start, now=now, **inputs)  # type: ignore[arg-type]
    return [refusal.reason for refusal in explained[ANNA]]


def test_each_rule_names_its_reason() -> None:
    assert reasons(at("09:00")) == []
    assert reasons(at("09:00"), now=at("10:00")) == [R.IN_PAST]
    assert reasons(at("09:00"), now=at("08:00")) == [R.MIN_NOTICE]
    assert reasons(at("09:00", date(2026, 8, 17))) == [R.BEYOND_ADVANCE_WINDOW]  # a Monday too
    assert reasons(at("09:10")) == [R.OFF_INTERVAL]
    assert reasons(at("16:30")) == [R.OUTSIDE_HOURS]  # would end after 17:00
    assert reasons(at("11:30")) == [R.ON_BREAK]
    off = TimeRange(at("14:00"), at("15:00"))
    assert reasons(at("14:30"), anna(time_off=(off,))) == [R.TIME_OFF]
    assert reasons(at("09:00"), anna(overrides=(DayOverride(MONDAY, True),))) == [R.DAY_OFF]


def test_a_reached_limit_refuses_its_whole_period_and_nothing_else() -> None:
    monday = (busy_span(at("00:00"), at("00:00", MONDAY + timedelta(days=1))),)
    assert reasons(at("09:00"), anna(limited=monday)) == [R.LIMIT_REACHED]
    assert reasons(at("16:00"), anna(limited=monday)) == [R.LIMIT_REACHED]
    assert reasons(at("11:30"), anna(limited=monday)) == [R.ON_BREAK, R.LIMIT_REACHED]
    until_ten = (busy_span(at("00:00"), at("10:00")),)
    assert reasons(at("10:00"), anna(limited=until_ten)) == []  # the period is half-open
    slots = compute_slots(RULES, [anna(limited=until_ten)], window=TimeRange(at("00:00"), at("23:00")), now=NOW)
    assert slots[0].start == at("10:00")


def test_bookings_refuse_as_booked_held_or_buffer() -> None:
    booking = uuid.uuid4()
    core = TimeRange(at("10:00"), at("11:00"))
    confirmed = HeldBlock(TimeRange(at("10:00"), at("11:15")), str(booking), booking_id=booking,
                          core=core)
    pending = HeldBlock(confirmed.range, str(booking), booking_id=booking, core=core, held=True)
    assert reasons(at("10:30"), anna(busy=(confirmed,))) == [R.BOOKED]
    assert reasons(at("10:30"), anna(busy=(pending,))) == [R.HELD]
    # 11:00-12:00 misses the appointment, but not its 15 minutes after
    assert reasons(at("11:00"), anna(busy=(confirmed,))) == [R.BUFFER]
    assert reasons(at("09:00"), anna(busy=(confirmed,))) == [R.BUFFER]  # its own buffer
    room = BusyBlock(TimeRange(at("14:00"), at("15:00")), "room")
    assert reasons(at("14:00"), resource_busy=[room]) == [R.RESOURCE_BUSY]


def test_every_reason_at_once() -> None:
    booking = BusyBlock(TimeRange(at("11:00"), at("12:00")), "b")
    off = TimeRange(at("11:40"), at("11:50"))
    got = reasons(at("11:30"), anna(busy=(booking,), time_off=(off,)), now=at("11:00"))
    assert got == [R.MIN_NOTICE, R.ON_BREAK, R.TIME_OFF, R.BOOKED]


def test_a_full_class_refuses() -> None:
    rules = ServiceRules(SERVICE, duration=timedelta(minutes=60), capacity=2)
    key = group_slot_key(SERVICE, ANNA, at("09:00"))
    assert reasons(at("09:00"), rules=rules, seats_taken={key: 1}) == []
    assert reasons(at("09:00"), rules=rules, seats_taken={key: 2}) == [R.CLASS_FULL]
