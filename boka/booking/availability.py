"""Bookable slots: when a service can start, and which staff members can take it.

Pure computation: everything comes in as the frozen dataclasses below; no I/O, no database.

Time zones and DST
------------------
Working hours, breaks and date overrides are local wall-clock times in the staff member's IANA
zone; every other instant is UTC. Local bounds become UTC instants with ``zoneinfo`` like this:

* A local time that does not exist (the clock jumps over it when DST starts) becomes the instant
  the gap ends: in Europe/Berlin on 2026-03-29, 02:30 becomes 03:00 CEST (01:00 UTC).
* A local time that happens twice (the clock repeats it when DST ends) is read as its first
  occurrence (fold=0) when it starts an interval and as its second (fold=1) when it ends one, so
  a 00:00-04:00 shift on Berlin's fall-back night lasts five real hours. Exception: an end at the
  very first repeated time (Berlin 02:00 on 2026-10-25) is its first occurrence, as the clock
  reaches the second only by jumping back from later times: a 00:00-02:00 shift ends at 02:00 CEST.

In short, an interval starts the first time the clock moves up to (or past) its start and ends the
last time the clock moves up to (or past) its end. Candidate starts step through absolute time, so
none falls on a local time that does not exist and no instant is offered twice.

How it is computed
------------------
Inside, an instant is an integer: microseconds since the Unix epoch (exact, as datetimes are, and
cheap to add and compare). The local bounds of one (zone, date, hours) are worked out once per call
and shared by every staff member with those hours. Each busy block rules out a range of starts
(those whose booked block would overlap it), so a staff member's free starts are the grid points of
their working spans minus the merged ruled-out ranges: one sorted sweep, no per-start lookups. A
booking limit that is reached (boka/booking/limits.py) is one more ruled-out range: the whole
day, week or month it holds (``StaffCalendar.limited``). Only
group classes look at starts one by one, since their own session's bookings take seats instead.

Why a start is not offered (``explainSlot``) is judged by ``boka/booking/refusals.py`` with these
same checks (``booking_horizon``, ``_net_working_spans`` and ``_day_hours``, the grid test of
``_free_starts``, ``_Grid.ruled_out``, ``_split_session_blocks``, ``_seats_left``, the limited
spans) applied to the one start: change a rule here and the explanation follows.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, chain
from operator import itemgetter
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Half-open [start, end) in microseconds since the Unix epoch: the internal form of a TimeRange.
Span = tuple[int, int]
# One local date's intervals, as (start, end) wall-clock times.
Hours = tuple[tuple[time, time], ...]

_ONE_DAY = timedelta(days=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_SEATS_TAKEN: Mapping[str, int] = MappingProxyType({})


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def _require_order(start: datetime | time, end: datetime | time) -> None:
    if not start < end:  # type: ignore[operator]  # both datetimes or both times
        raise ValueError(f"start {start} must be before end {end}")


@dataclass(frozen=True)
class TimeRange:
    """A half-open interval [start, end) of instants; both ends are stored in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        _require_aware(self.end, "end")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        _require_order(self.start, self.end)

    def overlaps(self, other: TimeRange) -> bool:
        return self.start < other.end and other.start < self.end


def busy_span(start: datetime, end: datetime) -> Span:
    """An instant range as the Span ``StaffCalendar.external_busy`` holds."""
    return (_micros(start), _micros(end))


def busy_ranges(spans: Iterable[Span]) -> tuple[TimeRange, ...]:
    """``StaffCalendar.external_busy`` (or any Spans) as TimeRanges, e.g. to explain a refusal."""
    return tuple(TimeRange(_instant_of(start), _instant_of(end)) for start, end in spans)


@dataclass(frozen=True)
class WeeklyInterval:
    """Recurring local working time (or a break) on one weekday, 0 = Monday."""

    weekday: int
    start: time
    end: time
    is_break: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        _require_order(self.start, self.end)


@dataclass(frozen=True)
class DayOverride:
    """Replaces the weekly pattern, breaks included, on one local date: a day off or these hours."""

    day: date
    day_off: bool
    intervals: tuple[tuple[time, time], ...] = ()

    def __post_init__(self) -> None:
        for start, end in self.intervals:
            _require_order(start, end)


@dataclass(frozen=True)
class BusyBlock:
    """Time taken by an active booking, buffers included; one group session shares a slot_key."""

    range: TimeRange
    slot_key: str


@dataclass(frozen=True)
class StaffCalendar:
    """Everything that decides when one staff member is free. One override per date at most."""

    staff_id: uuid.UUID
    time_zone: str
    weekly: tuple[WeeklyInterval, ...]
    overrides: tuple[DayOverride, ...] = ()
    time_off: tuple[TimeRange, ...] = ()
    busy: tuple[BusyBlock, ...] = ()
    # Busy time from the staff member's own calendars (boka.booking.external_calendars): taken
    # out of working time exactly like time off, kept apart so explanations can name it. As
    # Spans (microseconds since the epoch; ``busy_span``/``busy_ranges`` convert), since a busy
    # calendar brings thousands and TimeRange objects for each cost more than the rest.
    external_busy: tuple[Span, ...] = ()
    # Starts ruled out by a booking limit (boka.booking.limits) of the staff member or the
    # service: each a period (a local day, week or month) whose limit one more booking would
    # pass, as a Span of starts. Usually none; a handful when limits are set.
    limited: tuple[Span, ...] = ()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from error
        days = [override.day for override in self.overrides]
        if len(days) != len(set(days)):
            raise ValueError("a staff calendar takes at most one override per date")


@dataclass(frozen=True)
class ServiceRules:
    """How a service is booked: its length, buffers, grid, booking horizon and seats."""

    service_id: uuid.UUID
    duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    slot_interval: timedelta = timedelta(minutes=15)
    min_notice: timedelta = timedelta(0)
    max_advance: timedelta = timedelta(days=90)
    capacity: int = 1

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0) or self.slot_interval <= timedelta(0):
            raise ValueError("duration and slot_interval must be positive")
        bounds = (self.buffer_before, self.buffer_after, self.min_notice, self.max_advance)
        if min(bounds) < timedelta(0):
            raise ValueError("buffers, min_notice and max_advance must not be negative")
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")


@dataclass(frozen=True)
class Slot:
    """A bookable start: every staff member who can take it, and the most seats any of them has."""

    start: datetime
    end: datetime
    staff_ids: tuple[uuid.UUID, ...]
    seats_left: int


def group_slot_key(service_id: uuid.UUID, staff_id: uuid.UUID, start: datetime) -> str:
    """The slot_key every booking of one group-class session shares."""
    _require_aware(start, "start")
    return f"{_sessions_prefix(service_id, staff_id)}{start.astimezone(UTC).isoformat()}"


def _sessions_prefix(service_id: uuid.UUID, staff_id: uuid.UUID) -> str:
    """How the slot_key of every session of this service with this staff member begins."""
    return f"{service_id}:{staff_id}:"


def private_slot_key(booking_id: uuid.UUID) -> str:
    """The slot_key of a private appointment: its own booking id, shared with nobody."""
    return str(booking_id)


def working_ranges(calendar: StaffCalendar, day_window: TimeRange) -> list[TimeRange]:
    """The calendar's net working time as disjoint UTC ranges that overlap ``day_window``.

    Weekly intervals (or the date's override) minus weekly breaks, minus time off, with ranges
    that touch joined into one. Ranges are not clipped to the window: the slot grid is anchored
    at a range's true start.
    """
    low, high = _micros(day_window.start), _micros(day_window.end)
    spans = _net_working_spans(calendar, low, high, _LocalDays())
    return [TimeRange(_instant_of(start), _instant_of(end)) for start, end in spans]


def compute_slots(
    rules: ServiceRules,
    calendars: Sequence[StaffCalendar],
    *,
    window: TimeRange,
    now: datetime,
    seats_taken: Mapping[str, int] = _NO_SEATS_TAKEN,
    resource_busy: Sequence[BusyBlock] = (),
) -> list[Slot]:
    """Every start in ``window`` at which some staff member can take the service, sorted.

    A start is offered on the grid ``range start + k * slot_interval`` of a net working range
    when the whole service fits in that range, it respects min notice and max advance, the booked
    block (service plus buffers) overlaps no busy block of the staff member or of
    ``resource_busy`` (blocks of the same group session only take seats), and for a group class
    at least one seat of that session is left according to ``seats_taken``, and no booking
    limit of the staff member or the service rules the start out (``StaffCalendar.limited``).
    """
    _require_aware(now, "now")
    earliest, limit = booking_horizon(rules, now)
    earliest, limit = max(window.start, earliest), min(window.end, limit)
    if earliest >= limit:
        return []
    if len({calendar.staff_id for calendar in calendars}) != len(calendars):
        raise ValueError("compute_slots takes one calendar per staff member")
    grid = _Grid(rules, _micros(earliest), _micros(limit))
    local_days = _LocalDays()
    staff = sorted(calendars, key=lambda calendar: str(calendar.staff_id))
    offers: defaultdict[int, list[int]] = defaultdict(list)  # start -> who can take it (in staff)
    most_seats: dict[int, int] = {}  # start -> most seats left with any of them (classes only)
    for index, calendar in enumerate(staff):
        if rules.capacity == 1:
            for start in _free_starts_of(calendar, grid, local_days, resource_busy):
                offers[start].append(index)
            continue
        spans = _net_working_spans(calendar, grid.low, grid.high, local_days)
        blocks = [*calendar.busy, *resource_busy]
        for start, seats_left in _class_starts(rules, calendar, spans, grid, blocks, seats_taken):
            offers[start].append(index)
            most_seats[start] = max(most_seats.get(start, 0), seats_left)
    # Slots with the same staff share one tuple of their ids: less to build, and cheap to group.
    staff_sets: dict[tuple[int, ...], tuple[uuid.UUID, ...]] = {}
    slots = []
    for start, indexes in sorted(offers.items()):
        key = tuple(indexes)
        staff_ids = staff_sets.get(key)
        if staff_ids is None:
            staff_ids = staff_sets[key] = tuple(staff[index].staff_id for index in indexes)
        instant = _instant_of(start)
        slots.append(Slot(instant, instant + rules.duration, staff_ids, most_seats.get(start, 1)))
    return slots


def booking_horizon(rules: ServiceRules, now: datetime) -> tuple[datetime, datetime]:
    """The starts the service may be booked for at ``now``: [now + min notice, now + max
    advance], as a half-open (earliest, limit)."""
    return now + rules.min_notice, now + rules.max_advance + _ONE_MICROSECOND


def _free_starts_of(
    calendar: StaffCalendar, grid: _Grid, local_days: _LocalDays, resource_busy: Sequence[BusyBlock]
) -> list[int]:
    """A private appointment's starts with this staff member: the grid points of their net
    working spans that none of their busy blocks, nor the service's resources', rules out."""
    spans = _net_working_spans(calendar, grid.low, grid.high, local_days)
    return _free_starts(spans, grid, _ruled_out([*calendar.busy, *resource_busy], grid, calendar.limited))


def _micros(instant: datetime) -> int:
    """An aware datetime as microseconds since the Unix epoch."""
    return (instant - _EPOCH) // _ONE_MICROSECOND


def _instant_of(micros: int) -> datetime:
    """Microseconds since the Unix epoch as a UTC datetime."""
    return _EPOCH + micros * _ONE_MICROSECOND


class _Grid:
    """The service's lengths in microseconds, and the starts asked for: [low, high)."""

    __slots__ = ("after", "before", "duration", "high", "low", "step")

    def __init__(self, rules: ServiceRules, low: int, high: int) -> None:
        self.duration = rules.duration // _ONE_MICROSECOND
        self.before = rules.buffer_before // _ONE_MICROSECOND
        self.after = rules.buffer_after // _ONE_MICROSECOND
        self.step = rules.slot_interval // _ONE_MICROSECOND
        self.low, self.high = low, high

    def ruled_out(self, block: TimeRange) -> Span:
        """The starts whose booked block [s - before, s + duration + after) overlaps ``block``:
        start - duration - after < s < end + before, as a half-open range of integers."""
        return (
            _micros(block.start) - self.duration - self.after + 1,
            _micros(block.end) + self.before,
        )


def _ruled_out(blocks: Iterable[BusyBlock], grid: _Grid, limited: Iterable[Span] = ()) -> list[Span]:
    """The starts any of ``blocks`` rules out, and the ``limited`` starts (those a booking
    limit rules out: ``StaffCalendar.limited``), sorted and merged."""
    return _merge(chain((grid.ruled_out(block.range) for block in blocks), limited))


def _free_starts(spans: list[Span], grid: _Grid, ruled_out: list[Span]) -> list[int]:
    """Grid starts in [grid.low, grid.high) of each working span [a, b) (a + k * step, ending by
    b) that no busy block rules out. ``spans`` and ``ruled_out`` sorted and disjoint."""
    starts: list[int] = []
    step, cut = grid.step, 0
    for anchor, span_end in spans:
        low = max(anchor, grid.low)
        high = min(grid.high, span_end - grid.duration + 1)  # the service must end by span_end
        while cut < len(ruled_out) and ruled_out[cut][1] <= low:  # cuts wholly before this span
            cut += 1
        index = cut
        while low < high:
            piece_end = ruled_out[index][0] if index < len(ruled_out) else high
            if low < piece_end:  # [low, min(piece_end, high)) is free: its grid points
                first = low + (anchor - low) % step
                starts.extend(range(first, min(piece_end, high), step))
            if index == len(ruled_out):
                break
            low = max(low, ruled_out[index][1])
            index += 1
    return starts


def _class_starts(
    rules: ServiceRules,
    calendar: StaffCalendar,
    spans: list[Span],
    grid: _Grid,
    blocks: list[BusyBlock],
    seats_taken: Mapping[str, int],
) -> Iterator[tuple[int, int]]:
    """A group class's starts for one staff member, with the seats left. Blocks of one of this
    staff member's sessions of the service rule out every start but that session's own; the
    others rule starts out as for a private appointment."""
    plain, own_sessions = _split_session_blocks(rules, calendar.staff_id, blocks)
    sessions = _SessionIndex((grid.ruled_out(block.range), block.slot_key) for block in own_sessions)
    for start in _free_starts(spans, grid, _ruled_out(plain, grid, calendar.limited)):
        key = group_slot_key(rules.service_id, calendar.staff_id, _instant_of(start))
        if sessions.rules_out(start, own_key=key):
            continue
        seats_left = _seats_left(rules, key, seats_taken)
        if seats_left >= 1:
            yield start, seats_left


def _split_session_blocks(
    rules: ServiceRules, staff_id: uuid.UUID, blocks: Iterable[BusyBlock]
) -> tuple[list[BusyBlock], list[BusyBlock]]:
    """For a group class: the blocks that rule starts out as for a private appointment, and
    those of this staff member's sessions of the service (they rule out all but their own)."""
    prefix = _sessions_prefix(rules.service_id, staff_id)
    plain: list[BusyBlock] = []
    sessions: list[BusyBlock] = []
    for block in blocks:
        (sessions if block.slot_key.startswith(prefix) else plain).append(block)
    return plain, sessions


def _seats_left(rules: ServiceRules, session_key: str, seats_taken: Mapping[str, int]) -> int:
    return rules.capacity - seats_taken.get(session_key, 0)


class _SessionIndex:
    """Ranges of starts ruled out by group-session blocks, sorted by their first start, with the
    running maximum of their ends: the ranges holding a start are among those that begin at or
    before it (one bisect), and the walk back stops where no earlier range reaches it."""

    __slots__ = ("_ends", "_keys", "_reach", "_starts")

    def __init__(self, ranges: Iterable[tuple[Span, str]]) -> None:
        ordered = sorted(ranges, key=lambda item: item[0])
        self._starts = [span[0] for span, _ in ordered]
        self._ends = [span[1] for span, _ in ordered]
        self._keys = [key for _, key in ordered]
        self._reach = list(accumulate(self._ends, max))  # latest end among ranges 0..i

    def rules_out(self, start: int, *, own_key: str) -> bool:
        """Whether a range of another session than ``own_key`` holds ``start``."""
        position = bisect_right(self._starts, start) - 1
        while position >= 0 and self._reach[position] > start:
            if self._ends[position] > start and self._keys[position] != own_key:
                return True
            position -= 1
        return False


class _LocalDays:
    """Local dates turned into UTC spans, once per (zone, date, hours) in one computation:
    colleagues who share a zone and hours share the work."""

    __slots__ = ("_spans",)

    def __init__(self) -> None:
        self._spans: dict[tuple[str, date, Hours, Hours], list[Span]] = {}

    def spans(self, zone_name: str, day: date, work: Hours, breaks: Hours) -> list[Span]:
        """The day's working intervals minus its breaks, as merged spans."""
        key = (zone_name, day, work, breaks)
        spans = self._spans.get(key)
        if spans is None:
            zone = ZoneInfo(zone_name)
            spans = _subtract(_local_spans(day, work, zone), _local_spans(day, breaks, zone))
            self._spans[key] = spans
        return spans


def _weekly_by_weekday(weekly: Iterable[WeeklyInterval]) -> list[tuple[Hours, Hours]]:
    """For each weekday, 0 = Monday: its working intervals and its breaks, each sorted."""
    work: list[list[tuple[time, time]]] = [[] for _ in range(7)]
    breaks: list[list[tuple[time, time]]] = [[] for _ in range(7)]
    for interval in weekly:
        hours = breaks if interval.is_break else work
        hours[interval.weekday].append((interval.start, interval.end))
    return [(tuple(sorted(w)), tuple(sorted(b))) for w, b in zip(work, breaks, strict=True)]


def _day_hours(
    weekly: list[tuple[Hours, Hours]], overrides: Mapping[date, DayOverride], day: date
) -> tuple[Hours, Hours, bool]:
    """The working intervals and breaks of one local date, and whether it is a day off: the
    date's override if it has one (breaks and all), else its weekday's pattern."""
    override = overrides.get(day)
    if override is None:
        work, breaks = weekly[day.weekday()]
        return work, breaks, False
    if override.day_off:
        return (), (), True
    return override.intervals, (), False


def _net_working_spans(
    calendar: StaffCalendar, low: int, high: int, local_days: _LocalDays
) -> list[Span]:
    """Net working spans (sorted, disjoint, touching ones joined) that overlap [low, high)."""
    zone = ZoneInfo(calendar.time_zone)
    overrides = {override.day: override for override in calendar.overrides}
    weekly = _weekly_by_weekday(calendar.weekly)
    spans: list[Span] = []
    # A date's hours stay within that local date, so one spare date each side is plenty.
    day = _instant_of(low).astimezone(zone).date() - _ONE_DAY
    last_day = _instant_of(high).astimezone(zone).date() + _ONE_DAY
    while day <= last_day:
        work, breaks, _ = _day_hours(weekly, overrides, day)
        if work:
            spans.extend(local_days.spans(calendar.time_zone, day, work, breaks))
        day += _ONE_DAY
    time_off = _merge(chain(
        ((_micros(off.start), _micros(off.end)) for off in calendar.time_off), calendar.external_busy
    ))
    return [span for span in _subtract(_merge(spans), time_off) if span[0] < high and span[1] > low]


def _local_spans(day: date, intervals: Iterable[tuple[time, time]], zone: ZoneInfo) -> list[Span]:
    """One date's local intervals as merged spans; one a DST gap swallows whole vanishes."""
    spans = [
        (
            _micros(_instant(day, start, zone, is_end=False)),
            _micros(_instant(day, end, zone, is_end=True)),
        )
        for start, end in intervals
    ]
    return _merge(span for span in spans if span[0] < span[1])


def _instant(day: date, clock: time, zone: ZoneInfo, *, is_end: bool) -> datetime:
    """The instant a local interval bound stands for, by the rules in the module docstring."""
    wall = datetime.combine(day, clock)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _shown(first, zone) != wall:
        return _gap_end(wall, zone)
    last = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    # An end is the last time the clock moves up to it, which is not by jumping back onto it.
    if is_end and _shown(last - _ONE_MICROSECOND, zone) < wall:
        return last
    return first


def _shown(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time ``zone`` shows at ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the DST gap that swallows local time ``wall`` ends: the first instant whose
    clock shows a later time. Read with the offset after the jump (fold=1), ``wall`` lands before
    the transition; with the offset before (fold=0), at or after it. Bisect in between."""
    too_early = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late_enough = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = 0, (late_enough - too_early) // _ONE_MICROSECOND
    while high - low > 1:
        middle = (low + high) // 2
        if _shown(too_early + middle * _ONE_MICROSECOND, zone) > wall:
            high = middle
        else:
            low = middle
    return too_early + high * _ONE_MICROSECOND


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Sort spans and join those that overlap or touch."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """``spans`` minus ``cuts``; both sorted and disjoint, as ``_merge`` returns them."""
    result: list[Span] = []
    for start, end in spans:
        index = bisect_right(cuts, start, key=itemgetter(1))  # first cut ending after start
        while index < len(cuts) and cuts[index][0] < end:
            if cuts[index][0] > start:
                result.append((start, cuts[index][0]))
            start = max(start, cuts[index][1])
            index += 1
        if start < end:
            result.append((start, end))
    return result
