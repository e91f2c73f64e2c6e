"""Booking limits: at most N bookings, or N booked minutes, per day, week or month, for a
service (all its staff together) or a staff member (all their services together).

Periods are the tenant's: local days, weeks from Monday and calendar months in the tenant's time
zone, each a half-open range of instants from one local midnight to the next period's. A booking
counts in the period its start falls in, while active (pending or confirmed); its minutes are
its appointment's (end minus start, buffers left out).

A limit rules out a start when one more booking there (of the service's length with that staff
member) would pass it. Availability hands those periods to the slot sweep as spans of starts
(``StaffCalendar.limited``), so a full day simply shows no slots and ``explainSlot`` names
LIMIT_REACHED from the same spans. At booking time ``refuse_over_limit`` counts again, after a
transaction-level advisory lock per (scope, period) on PostgreSQL: two requests for the last
booking a limit allows queue there, and the second counts the first's committed row. Services
and staff members without limits cost nothing: the limits live on their rows (a JSON list),
which every path has already read.
"""

from __future__ import annotations

import enum
import uuid
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import Span, TimeRange, busy_span
from boka.models.bookings import ACTIVE_STATUSES, Booking
from boka.models.catalog import Service, StaffMember
from boka.models.tenancy import Tenant
from boka.validation import check_range, invalid

MAX_LIMIT_BOOKINGS = 10_000
MAX_LIMIT_MINUTES = 31 * 24 * 60  # a month of minutes, the most a period can hold


class LimitPeriod(str, enum.Enum):
    DAY = "day"
    WEEK = "week"  # Monday to Sunday
    MONTH = "month"


@dataclass(frozen=True)
class BookingLimit:
    """At most ``max_bookings`` bookings and/or ``max_minutes`` booked minutes per period."""

    period: LimitPeriod
    max_bookings: int | None = None
    max_minutes: int | None = None

    def allows_one_more(self, bookings: int, minutes: int, duration_minutes: int) -> bool:
        """Whether a booking of ``duration_minutes`` fits beside ``bookings`` of ``minutes``."""
        if self.max_bookings is not None and bookings + 1 > self.max_bookings:
            return False
        return self.max_minutes is None or minutes + duration_minutes <= self.max_minutes


def limits_of(stored: Iterable[Mapping[str, Any]] | None) -> tuple[BookingLimit, ...]:
    """The limits a service's or staff member's ``booking_limits`` column holds."""
    return tuple(
        BookingLimit(LimitPeriod(item["period"]), item.get("max_bookings"), item.get("max_minutes"))
        for item in stored or ()
    )


def stored_limits(limits: Iterable[BookingLimit]) -> list[dict[str, Any]]:
    """``limits`` as the ``booking_limits`` column stores them, ordered day, week, month."""
    order = list(LimitPeriod)
    return [
        {"period": limit.period.value, "max_bookings": limit.max_bookings, "max_minutes": limit.max_minutes}
        for limit in sorted(limits, key=lambda limit: order.index(limit.period))
    ]


def checked_limits(limits: Sequence[BookingLimit], field: str = "limits") -> tuple[BookingLimit, ...]:
    """Limits as a manager may set them: one per period, each with a bookings or a minutes
    bound (or both), each bound at least 1. An empty list removes every limit."""
    seen: set[LimitPeriod] = set()
    for index, limit in enumerate(limits):
        where = f"{field}.{index}"
        if limit.period in seen:
            raise invalid(f"Give at most one limit per period ({limit.period.value} twice).", where)
        seen.add(limit.period)
        if limit.max_bookings is None and limit.max_minutes is None:
            raise invalid("Give a number of bookings, of minutes, or both.", where)
        if limit.max_bookings is not None:
            check_range(limit.max_bookings, f"{where}.maxBookings", 1, MAX_LIMIT_BOOKINGS)
        if limit.max_minutes is not None:
            check_range(limit.max_minutes, f"{where}.maxMinutes", 1, MAX_LIMIT_MINUTES)
    return tuple(limits)


# --- periods in the tenant's zone -----------------------------------------------------------------


def _first_day(period: LimitPeriod, day: date) -> date:
    if period is LimitPeriod.DAY:
        return day
    if period is LimitPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_first_day(period: LimitPeriod, first: date) -> date:
    if period is LimitPeriod.DAY:
        return first + timedelta(days=1)
    if period is LimitPeriod.WEEK:
        return first + timedelta(days=7)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local date begins: its first midnight (fold=0), or where a DST gap that
    swallows midnight ends (then the date begins at the first time the clock shows)."""
    instant = datetime.combine(day, time(0), zone).astimezone(UTC)
    if instant.astimezone(zone).date() != day:  # midnight fell in a gap: read it after the jump
        instant = datetime.combine(day, time(0), zone).replace(fold=1).astimezone(UTC)
    return instant


# One period as (start, end) instants: half-open, UTC.
Period = tuple[datetime, datetime]


def periods_over(period: LimitPeriod, low: datetime, high: datetime, zone: ZoneInfo) -> list[Period]:
    """The periods that hold an instant of [low, high), in order."""
    day = _first_day(period, low.astimezone(zone).date())
    periods = []
    start = _midnight(day, zone)
    while start < high:
        following = _next_first_day(period, day)
        end = _midnight(following, zone)
        if end > low:
            periods.append((start, end))
        day, start = following, end
    return periods


# --- what the periods hold ------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitScope:
    """The limits of one service or one staff member."""

    kind: str  # "service" (its bookings with anyone) or "staff" (theirs, of any service)
    target_id: uuid.UUID
    limits: tuple[BookingLimit, ...]


@dataclass(frozen=True)
class PeriodUse:
    """One limit's period and what its active bookings hold."""

    scope: LimitScope
    limit: BookingLimit
    period: Period
    bookings: int
    minutes: int

    def allows_one_more(self, duration_minutes: int) -> bool:
        return self.limit.allows_one_more(self.bookings, self.minutes, duration_minutes)


def _lock_key(scope: LimitScope, limit: BookingLimit, period: Period) -> str:
    """The advisory lock that queues bookings counted in one period of one limit."""
    return f"boka:limit:{scope.kind}:{scope.target_id}:{limit.period.value}:{period[0].isoformat()}"


def scopes_of(service: Service, staff: Iterable[StaffMember]) -> list[LimitScope]:
    """The limits that bear on booking ``service`` with any of ``staff``: none usually."""
    scopes = []
    if limits := limits_of(service.booking_limits):
        scopes.append(LimitScope("service", service.id, limits))
    for member in staff:
        if limits := limits_of(member.booking_limits):
            scopes.append(LimitScope("staff", member.id, limits))
    return scopes


async def tenant_zone(db: AsyncSession, tenant_id: uuid.UUID) -> ZoneInfo:
    name = (await db.execute(sa.select(Tenant.time_zone).where(Tenant.id == tenant_id))).scalar_one()
    return ZoneInfo(name)


async def period_uses(
    db: AsyncSession, tenant_id: uuid.UUID, scopes: Sequence[LimitScope], *, low: datetime,
    high: datetime, zone: ZoneInfo, ignore_booking_id: uuid.UUID | None = None,
) -> list[PeriodUse]:
    """Every period of the scopes' limits that holds an instant of [low, high), with the active
    bookings in it (but ``ignore_booking_id``, a booking being moved). One statement: the
    bookings counted in the finest pieces the periods' bounds cut (on PostgreSQL in the
    database, by ``width_bucket``), one SELECT for all the scopes of one kind with the same
    periods (staff members' limits are usually alike), then summed per period here."""
    if not scopes:
        return []
    periods = {
        kind: periods_over(kind, low, high, zone)
        for kind in {limit.period for scope in scopes for limit in scope.limits}
    }
    groups: dict[tuple[str, tuple[datetime, ...]], list[uuid.UUID]] = defaultdict(list)
    bounds_of: dict[LimitScope, tuple[datetime, ...]] = {}
    for scope in scopes:
        edges = {edge for limit in scope.limits for each in periods[limit.period] for edge in each}
        bounds_of[scope] = bounds = tuple(sorted(edges))
        groups[(scope.kind, bounds)].append(scope.target_id)
    pieces = await _count_pieces(db, tenant_id, groups, ignore_booking_id)
    uses = []
    for scope in scopes:
        bounds = bounds_of[scope]
        # running totals over the pieces: a period's figures are two differences
        bookings, minutes = [0], [0]
        for piece in range(len(bounds) - 1):
            held = pieces.get((scope.kind, scope.target_id, piece), (0, 0))
            bookings.append(bookings[-1] + held[0])
            minutes.append(minutes[-1] + held[1])
        for limit in scope.limits:
            for each in periods[limit.period]:
                first, last = bisect_left(bounds, each[0]), bisect_left(bounds, each[1])
                uses.append(PeriodUse(
                    scope, limit, each, bookings[last] - bookings[first], minutes[last] - minutes[first]
                ))
    return uses


_EDGES = postgresql.ARRAY(sa.DateTime(timezone=True))


async def _count_pieces(
    db: AsyncSession, tenant_id: uuid.UUID,
    groups: Mapping[tuple[str, tuple[datetime, ...]], list[uuid.UUID]],
    ignore_booking_id: uuid.UUID | None,
) -> dict[tuple[str, uuid.UUID, int], tuple[int, int]]:
    """(kind, service or staff id, piece index) -> (bookings, minutes) of the active bookings
    that start in piece [bounds[i], bounds[i + 1]) of their group's bounds."""
    postgres = db.bind.dialect.name == "postgresql"
    parts = []
    for (kind, bounds), target_ids in groups.items():
        column = Booking.service_id if kind == "service" else Booking.staff_id
        where = [
            Booking.tenant_id == tenant_id,
            column.in_(target_ids),
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.start_time >= bounds[0],
            Booking.start_time < bounds[-1],
        ]
        if ignore_booking_id is not None:
            where.append(Booking.id != ignore_booking_id)
        if postgres:
            piece = sa.func.width_bucket(Booking.start_time, sa.literal(list(bounds), _EDGES)) - 1
            seconds = sa.func.sum(sa.extract("epoch", Booking.end_time - Booking.start_time))
            parts.append(
                sa.select(sa.literal(kind), column, piece, sa.func.count(), sa.cast(seconds, sa.BigInteger))
                .where(*where).group_by(column, piece)
            )
        else:
            parts.append(sa.select(
                sa.literal(kind), column, Booking.start_time, Booking.end_time,
                sa.literal(len(parts)),
            ).where(*where))
    rows = (await db.execute(sa.union_all(*parts) if len(parts) > 1 else parts[0])).all()
    if postgres:
        return {(kind, target, piece): (count, seconds // 60) for kind, target, piece, count, seconds in rows}
    all_bounds = list(groups)
    totals: dict[tuple[str, uuid.UUID, int], list[int]] = defaultdict(lambda: [0, 0])
    for kind, target, start, end, group in rows:
        total = totals[(kind, target, bisect_right(all_bounds[group][1], start) - 1)]
        total[0] += 1
        total[1] += int((end - start).total_seconds()) // 60
    return {key: (count, minutes) for key, (count, minutes) in totals.items()}


# --- availability and booking ---------------------------------------------------------------------


async def limited_starts(
    db: AsyncSession, service: Service, staff: Sequence[StaffMember], window: TimeRange, *,
    duration_minutes: int, ignore_booking_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, tuple[Span, ...]]:
    """Per staff member, the starts in ``window`` that a limit of theirs or of the service
    rules out (one more booking of ``duration_minutes`` would pass it), as the spans of the
    full periods: ``StaffCalendar.limited``. No statement at all when nothing has limits."""
    scopes = scopes_of(service, staff)
    if not scopes:
        return {}
    zone = await tenant_zone(db, service.tenant_id)
    uses = await period_uses(
        db, service.tenant_id, scopes, low=window.start, high=window.end, zone=zone,
        ignore_booking_id=ignore_booking_id,
    )
    full: dict[uuid.UUID | None, list[Span]] = defaultdict(list)  # None: the service's, everyone's
    for use in uses:
        if not use.allows_one_more(duration_minutes):
            who = None if use.scope.kind == "service" else use.scope.target_id
            full[who].append(busy_span(*use.period))
    return {
        member.id: tuple(sorted({*full[None], *full[member.id]}))
        for member in staff
        if full[None] or full[member.id]
    }


def rules_out(spans: Iterable[Span], start: datetime) -> bool:
    """Whether ``start`` lies in one of ``spans`` (as ``limited_starts`` gives them)."""
    point = busy_span(start, start)[0]
    return any(low <= point < high for low, high in spans)


async def refuse_over_limit(
    db: AsyncSession, service: Service, member: StaffMember, *, start: datetime,
    duration_minutes: int, ignore_booking_id: uuid.UUID | None = None,
    lock_with: Sequence[StaffMember] = (),
) -> bool:
    """Whether a limit of the service or the staff member refuses one more booking at
    ``start`` (True: refused). Nothing to do, and no statement, when neither has limits.

    On PostgreSQL the periods' advisory locks come first, held to the end of the transaction,
    so racing requests count one after another. They are taken in one sorted order, together
    with those of ``lock_with`` (the other staff members the caller may try next for the same
    start): a request that moves on to a colleague then takes no lock out of that order, so two
    requests never wait for each other's locks crosswise."""
    scopes = scopes_of(service, [member])
    if not scopes:
        return False
    zone = await tenant_zone(db, service.tenant_id)
    moment = {"low": start, "high": start + timedelta(microseconds=1), "zone": zone}
    if db.bind.dialect.name == "postgresql":
        keys = sorted({
            _lock_key(scope, limit, each)
            for scope in scopes_of(service, [member, *lock_with]) for limit in scope.limits
            for each in periods_over(limit.period, start, moment["high"], zone)
        })
        for key in keys:  # re-taking a lock this transaction holds returns at once
            await db.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            )
    uses = await period_uses(
        db, service.tenant_id, scopes, low=start, high=moment["high"], zone=zone,
        ignore_booking_id=ignore_booking_id,
    )
    return any(not use.allows_one_more(duration_minutes) for use in uses)
