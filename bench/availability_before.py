"""The availability computation as it was before issue 10 (commit 639aa1b), frozen here as the
same-run baseline of bench/availability.py. Not used by Boka; do not import it elsewhere.

It takes the same inputs (boka.booking.availability's dataclasses) and gives the same slots;
it walks datetimes, one bisect per candidate start, and converts each staff member's local
days on its own.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from operator import itemgetter
from types import MappingProxyType
from zoneinfo import ZoneInfo

from boka.booking.availability import (
    BusyBlock,
    ServiceRules,
    Slot,
    StaffCalendar,
    TimeRange,
    group_slot_key,
)

Span = tuple[datetime, datetime]

_ONE_DAY = timedelta(days=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
_NO_SEATS_TAKEN: Mapping[str, int] = MappingProxyType({})


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


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
    at least one seat of that session is left according to ``seats_taken``.
    """
    _require_aware(now, "now")
    earliest = max(window.start, now + rules.min_notice)
    limit = min(window.end, now + rules.max_advance + _ONE_MICROSECOND)  # exclusive
    if earliest >= limit:
        return []
    resource_index = _BusyIndex(resource_busy)
    offers: dict[datetime, dict[uuid.UUID, int]] = {}  # start -> staff id -> seats left
    for calendar in calendars:
        for start, seats_left in _staff_starts(
            rules, calendar, resource_index, seats_taken, earliest, limit
        ):
            offers.setdefault(start, {})[calendar.staff_id] = seats_left
    return [
        Slot(start, start + rules.duration, tuple(sorted(seats, key=str)), max(seats.values()))
        for start, seats in sorted(offers.items())
    ]


def _staff_starts(
    rules: ServiceRules,
    calendar: StaffCalendar,
    resource_index: _BusyIndex,
    seats_taken: Mapping[str, int],
    earliest: datetime,
    limit: datetime,
) -> Iterator[tuple[datetime, int]]:
    """The starts in [earliest, limit) one staff member can take, with the seats left."""
    staff_index = _BusyIndex(calendar.busy)
    for span in _net_working_spans(calendar, earliest, limit):
        for start in _grid_starts(span, rules, earliest, limit):
            block_start = start - rules.buffer_before
            block_end = start + rules.duration + rules.buffer_after
            key = None
            if rules.capacity > 1:
                key = group_slot_key(rules.service_id, calendar.staff_id, start)
            if staff_index.blocks(block_start, block_end, shared_key=key):
                continue
            if resource_index.blocks(block_start, block_end, shared_key=key):
                continue
            seats_left = 1 if key is None else rules.capacity - seats_taken.get(key, 0)
            if seats_left >= 1:
                yield start, seats_left


def _grid_starts(
    span: Span, rules: ServiceRules, earliest: datetime, limit: datetime
) -> Iterator[datetime]:
    """Grid starts of one working span in [earliest, limit) whose service ends inside the span."""
    step = rules.slot_interval
    steps_skipped = -((span[0] - earliest) // step) if earliest > span[0] else 0
    start = span[0] + steps_skipped * step
    while start < limit and start + rules.duration <= span[1]:
        yield start
        start += step


class _BusyIndex:
    """Busy blocks sorted by start, with the running maximum of their ends, for bisect lookups.

    Blocks that start before a candidate's end overlap it exactly when the latest end among them
    is after its start: one bisect. Only a group candidate walks back through those blocks, to
    skip its own session's, and stops where no earlier block reaches it.
    """

    __slots__ = ("_ends", "_keys", "_reach", "_starts")

    def __init__(self, blocks: Iterable[BusyBlock]) -> None:
        ordered = sorted(blocks, key=lambda block: block.range.start)
        self._starts = [block.range.start for block in ordered]
        self._ends = [block.range.end for block in ordered]
        self._keys = [block.slot_key for block in ordered]
        self._reach = list(accumulate(self._ends, max))  # latest end among blocks 0..i

    def blocks(self, start: datetime, end: datetime, *, shared_key: str | None) -> bool:
        """Whether a block whose slot_key is not ``shared_key`` overlaps [start, end)."""
        position = bisect_left(self._starts, end) - 1
        if shared_key is None:
            return position >= 0 and self._reach[position] > start
        while position >= 0 and self._reach[position] > start:
            if self._ends[position] > start and self._keys[position] != shared_key:
                return True
            position -= 1
        return False


def _net_working_spans(calendar: StaffCalendar, low: datetime, high: datetime) -> list[Span]:
    """Net working spans (sorted, disjoint, touching ones joined) that overlap [low, high)."""
    zone = ZoneInfo(calendar.time_zone)
    overrides = {override.day: override for override in calendar.overrides}
    spans: list[Span] = []
    # A date's hours stay within that local date, so one spare date each side is plenty.
    day, last_day = low.astimezone(zone).date() - _ONE_DAY, high.astimezone(zone).date() + _ONE_DAY
    while day <= last_day:
        override = overrides.get(day)
        if override is None:
            todays = [interval for interval in calendar.weekly if interval.weekday == day.weekday()]
            work = _local_spans(day, [(i.start, i.end) for i in todays if not i.is_break], zone)
            breaks = _local_spans(day, [(i.start, i.end) for i in todays if i.is_break], zone)
            spans.extend(_subtract(work, breaks))
        elif not override.day_off:
            spans.extend(_local_spans(day, override.intervals, zone))
        day += _ONE_DAY
    time_off = _merge((off.start, off.end) for off in calendar.time_off)
    return [span for span in _subtract(_merge(spans), time_off) if span[0] < high and span[1] > low]


def _local_spans(day: date, intervals: Iterable[tuple[time, time]], zone: ZoneInfo) -> list[Span]:
    """One date's local intervals as merged UTC spans; one a DST gap swallows whole vanishes."""
    spans = [
        (_instant(day, start, zone, is_end=False), _instant(day, end, zone, is_end=True))
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
