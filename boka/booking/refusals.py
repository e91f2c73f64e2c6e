"""Why a start is not bookable: every reason, per staff member, from availability's own checks.

Pure computation over the inputs of ``compute_slots`` (boka/booking/availability.py), and no
second rule set: a start is judged with the same functions the slot sweep runs (the booking
horizon, the net working spans of the calendar, the slot grid anchored at each span's start,
the starts each busy block rules out, a class session's blocks and seats), applied to that one
start. So a start is among ``compute_slots``'s slots for a staff member exactly when
``explain_start`` finds no reason for them (tests/booking/test_slot_refusals.py checks it on
generated calendars). Where the sweep only needs to know *that* a start is ruled out, the
explanation then names *what* rules it out:

* outside the horizon: IN_PAST, MIN_NOTICE, BEYOND_ADVANCE_WINDOW;
* not inside one net working span: DAY_OFF (a day-off override), OUTSIDE_HOURS (not within the
  day's working intervals), ON_BREAK, TIME_OFF, EXTERNAL_BUSY (the staff member's calendar
  feeds); inside one but not on its grid: OFF_INTERVAL;
* a busy block of the staff member: BOOKED (the appointments overlap), BUFFER (only a buffer
  does), HELD (a pending booking holds the time); of the service's resources: RESOURCE_BUSY;
* a group class: CLASS_FULL when the session at that start has no seat left;
* a booking limit of the staff member or the service (boka/booking/limits.py) that one more
  booking in the start's day, week or month would pass: LIMIT_REACHED.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from boka.booking.availability import (
    _NO_SEATS_TAKEN,
    _ONE_DAY,
    BusyBlock,
    ServiceRules,
    Span,
    StaffCalendar,
    TimeRange,
    _day_hours,
    _free_starts,
    _Grid,
    _instant,
    _instant_of,
    _LocalDays,
    _local_spans,
    _merge,
    _micros,
    _net_working_spans,
    _require_aware,
    _seats_left,
    _split_session_blocks,
    _weekly_by_weekday,
    booking_horizon,
    group_slot_key,
)


class RefusalReason(str, enum.Enum):
    """Why a start is not bookable with a staff member. LIMIT_REACHED is reserved for booking
    limits, which Boka does not have yet."""

    IN_PAST = "IN_PAST"
    MIN_NOTICE = "MIN_NOTICE"
    BEYOND_ADVANCE_WINDOW = "BEYOND_ADVANCE_WINDOW"
    OFF_INTERVAL = "OFF_INTERVAL"
    OUTSIDE_HOURS = "OUTSIDE_HOURS"
    ON_BREAK = "ON_BREAK"
    TIME_OFF = "TIME_OFF"
    DAY_OFF = "DAY_OFF"
    BOOKED = "BOOKED"
    BUFFER = "BUFFER"
    RESOURCE_BUSY = "RESOURCE_BUSY"
    CLASS_FULL = "CLASS_FULL"
    LIMIT_REACHED = "LIMIT_REACHED"
    EXTERNAL_BUSY = "EXTERNAL_BUSY"
    SERVICE_INACTIVE = "SERVICE_INACTIVE"
    NOT_ASSIGNED = "NOT_ASSIGNED"
    HELD = "HELD"


@dataclass(frozen=True)
class HeldBlock(BusyBlock):
    """A busy block with what holds it, for explanations (the slot sweep needs only the range):
    the booking or class session, the appointment itself without buffers, and whether the
    booking is pending (held for confirmation or payment) rather than confirmed."""

    booking_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    core: TimeRange | None = None
    held: bool = False


@dataclass(frozen=True)
class Refusal:
    """One reason, with the item behind it when there is one: the busy block (a booking, a
    class session, a resource's hold) or the time off."""

    reason: RefusalReason
    block: BusyBlock | None = None
    time_off: TimeRange | None = None


def explain_start(
    rules: ServiceRules,
    calendars: Sequence[StaffCalendar],
    *,
    start: datetime,
    now: datetime,
    seats_taken: Mapping[str, int] = _NO_SEATS_TAKEN,
    resource_busy: Sequence[BusyBlock] = (),
) -> dict[uuid.UUID, tuple[Refusal, ...]]:
    """For each calendar's staff member, every reason ``start`` is not bookable; an empty tuple
    exactly when ``compute_slots`` with the same inputs offers ``start`` with them."""
    _require_aware(start, "start")
    _require_aware(now, "now")
    horizon = horizon_refusals(rules, start, now)
    point = _micros(start)
    grid = _Grid(rules, point, point + 1)  # the one start asked about
    local_days = _LocalDays()
    return {
        calendar.staff_id: (
            *horizon,
            *_hours_refusals(calendar, grid, local_days),
            *_busy_refusals(rules, calendar, grid, start, seats_taken, resource_busy),
            *_limit_refusals(calendar, point),
        )
        for calendar in calendars
    }


def horizon_refusals(rules: ServiceRules, start: datetime, now: datetime) -> list[Refusal]:
    """Why ``start`` is outside the service's booking horizon (``booking_horizon``) at ``now``."""
    earliest, limit = booking_horizon(rules, now)
    refusals = []
    if start < now:
        refusals.append(Refusal(RefusalReason.IN_PAST))
    elif start < earliest:
        refusals.append(Refusal(RefusalReason.MIN_NOTICE))
    if start >= limit:
        refusals.append(Refusal(RefusalReason.BEYOND_ADVANCE_WINDOW))
    return refusals


def _hours_refusals(calendar: StaffCalendar, grid: _Grid, local_days: _LocalDays) -> list[Refusal]:
    """Nothing if the start is a grid point of a net working span that holds the whole
    service (the sweep's own test); else OFF_INTERVAL when such a span holds it off the grid,
    else what keeps the service out of the net working time."""
    spans = _net_working_spans(calendar, grid.low, grid.high, local_days)
    if _free_starts(spans, grid, []):
        return []
    start, end = grid.low, grid.low + grid.duration
    if any(low <= start and end <= high for low, high in spans):
        return [Refusal(RefusalReason.OFF_INTERVAL)]
    return _outside_working_time(calendar, start, end)


def working_time_refusals(calendar: StaffCalendar, start: datetime, end: datetime) -> list[Refusal]:
    """Why [start, end) is not inside one net working span of ``calendar`` (DAY_OFF,
    OUTSIDE_HOURS, ON_BREAK, TIME_OFF, EXTERNAL_BUSY); empty when it is. What a class session's
    time is checked against (boka/booking/session_hours.py), with availability's own rules."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    return _outside_working_time(calendar, _micros(start), _micros(end))


def _outside_working_time(calendar: StaffCalendar, start: int, end: int) -> list[Refusal]:
    """Why [start, end) is not inside one net working span (the working intervals of its dates,
    minus their breaks, minus time off and calendar-feed busy time): at least one of these holds
    whenever it is not."""
    zone = ZoneInfo(calendar.time_zone)
    overrides = {override.day: override for override in calendar.overrides}
    weekly = _weekly_by_weekday(calendar.weekly)
    work: list[Span] = []
    breaks: list[Span] = []
    day_off = False
    day = _instant_of(start).astimezone(zone).date() - _ONE_DAY
    last_day = _instant_of(end).astimezone(zone).date() + _ONE_DAY
    while day <= last_day:
        day_work, day_breaks, off = _day_hours(weekly, overrides, day)
        if off:
            day_start = _micros(_instant(day, time(0), zone, is_end=False))
            day_end = _micros(_instant(day + _ONE_DAY, time(0), zone, is_end=False))
            day_off = day_off or (day_start < end and start < day_end)
        work.extend(_local_spans(day, day_work, zone))
        breaks.extend(_local_spans(day, day_breaks, zone))
        day += _ONE_DAY
    refusals = []
    if day_off:
        refusals.append(Refusal(RefusalReason.DAY_OFF))
    elif not any(low <= start and end <= high for low, high in _merge(work)):
        refusals.append(Refusal(RefusalReason.OUTSIDE_HOURS))
    if any(low < end and start < high for low, high in breaks):
        refusals.append(Refusal(RefusalReason.ON_BREAK))
    refusals.extend(
        Refusal(RefusalReason.TIME_OFF, time_off=off)
        for off in calendar.time_off
        if _micros(off.start) < end and start < _micros(off.end)
    )
    if any(low < end and start < high for low, high in calendar.external_busy):
        # busy in the staff member's own calendar: what it is stays theirs (no item shown)
        refusals.append(Refusal(RefusalReason.EXTERNAL_BUSY))
    return refusals


def _busy_refusals(
    rules: ServiceRules,
    calendar: StaffCalendar,
    grid: _Grid,
    start: datetime,
    seats_taken: Mapping[str, int],
    resource_busy: Sequence[BusyBlock],
) -> list[Refusal]:
    """The blocks that rule the start out, as the sweep rules starts out (``_Grid.ruled_out``);
    for a group class, its own session's blocks take seats instead, and a full session refuses."""
    point = grid.low
    own_key = None
    staff_blocks: Sequence[BusyBlock] = calendar.busy
    resource_blocks: Sequence[BusyBlock] = resource_busy
    if rules.capacity > 1:
        own_key = group_slot_key(rules.service_id, calendar.staff_id, start)
        staff_blocks = _blocks_of_others(rules, calendar.staff_id, staff_blocks, own_key)
        resource_blocks = _blocks_of_others(rules, calendar.staff_id, resource_blocks, own_key)
    refusals = []
    for blocks, of_resource in ((staff_blocks, False), (resource_blocks, True)):
        for block in blocks:
            low, high = grid.ruled_out(block.range)
            if low <= point < high:
                refusals.append(Refusal(_busy_reason(block, grid, of_resource), block=block))
    if own_key is not None and _seats_left(rules, own_key, seats_taken) < 1:
        refusals.append(Refusal(RefusalReason.CLASS_FULL))
    return refusals


def _limit_refusals(calendar: StaffCalendar, point: int) -> list[Refusal]:
    """LIMIT_REACHED when a booking limit rules the start out (the sweep merges the same
    ``StaffCalendar.limited`` spans into the starts it rules out)."""
    if any(low <= point < high for low, high in calendar.limited):
        return [Refusal(RefusalReason.LIMIT_REACHED)]
    return []


def _blocks_of_others(
    rules: ServiceRules, staff_id: uuid.UUID, blocks: Sequence[BusyBlock], own_key: str
) -> list[BusyBlock]:
    """A class's blocks minus those of its own session at this start, which take seats."""
    plain, sessions = _split_session_blocks(rules, staff_id, blocks)
    return plain + [block for block in sessions if block.slot_key != own_key]


def _busy_reason(block: BusyBlock, grid: _Grid, of_resource: bool) -> RefusalReason:
    if of_resource:
        return RefusalReason.RESOURCE_BUSY
    core = block.core if isinstance(block, HeldBlock) else None
    if core is not None and not (
        grid.low < _micros(core.end) and _micros(core.start) < grid.low + grid.duration
    ):
        return RefusalReason.BUFFER
    if isinstance(block, HeldBlock) and block.held:
        return RefusalReason.HELD
    return RefusalReason.BOOKED
