"""Analytics for a period, per the authorization matrix: staff see their own bookings' figures,
managers and owners the tenant's (optionally one staff member's)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.analytics.figures import Tally
from boka.analytics.periods import Period
from boka.analytics.queries import BookingGroup, MoneyGroup, Reach
from boka.analytics.rollup import raw_figures, rollup_figures
from boka.booking.availability import working_ranges
from boka.booking.calendars import load_schedules
from boka.errors import Forbidden
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.catalog import Service, StaffMember


@dataclass(frozen=True)
class StaffFigures:
    member: StaffMember
    tally: Tally
    booked_seconds: float  # appointments, and each class session once
    working_seconds: float  # their schedule's net working time in the period

    @property
    def utilisation(self) -> float | None:
        """Booked time over working time; None when they had no working time."""
        return self.booked_seconds / self.working_seconds if self.working_seconds else None


@dataclass(frozen=True)
class AnalyticsReport:
    period: Period
    whole_tenant: bool  # False: one staff member's (their own, or the one asked for)
    totals: Tally
    buckets: list[tuple[date, Tally]]
    services: list[tuple[Service, Tally]]  # the most booked first
    staff: list[StaffFigures]
    new_customers: int
    returning_customers: int


async def reach_of(
    db: AsyncSession, principal: Principal, staff_id: uuid.UUID | None
) -> Reach:
    """Whose figures the principal may see: FORBIDDEN for customers (and API keys); a staff
    member only their own (another's ``staff_id`` is FORBIDDEN)."""
    scope = principal.authorize(Action.ANALYTICS_VIEW, Scope.ASSIGNED)
    tenant = principal.require_tenant()
    if scope >= Scope.TENANT:
        return Reach(tenant.id, None if staff_id is None else (staff_id,))
    user = principal.require_user()
    mine = tuple((await db.execute(
        sa.select(StaffMember.id).where(
            StaffMember.tenant_id == tenant.id, StaffMember.user_id == user.id)
    )).scalars())
    if staff_id is not None and staff_id not in mine:
        raise Forbidden("Staff see only their own analytics.")
    return Reach(tenant.id, mine)


async def analytics_report(
    db: AsyncSession, reach: Reach, period: Period, *, use_rollup: bool = True
) -> AnalyticsReport:
    """The period's report: from the daily rollup where it can answer (boka/analytics/rollup.py),
    else (or with ``use_rollup=False``, the tests' oracle) from the bookings themselves."""
    figures = await rollup_figures(db, reach, period) if use_rollup else None
    if figures is None:
        figures = await raw_figures(db, reach, period)
    bookings, money, sessions = figures.bookings, figures.money, figures.sessions
    new, returning = figures.new_customers, figures.returning_customers

    totals = Tally()
    by_bucket: dict[date, Tally] = {start: Tally() for start in period.buckets()}
    by_service: dict[uuid.UUID, Tally] = defaultdict(Tally)
    by_staff: dict[uuid.UUID, Tally] = defaultdict(Tally)
    for group in bookings:
        for tally in _tallies(group, totals, by_bucket, by_service, by_staff):
            tally.add_bookings(group)
    for entry in money:
        for tally in _tallies(entry, totals, by_bucket, by_service, by_staff):
            tally.add_money(entry)

    services = await _services(db, reach.tenant_id, list(by_service))
    ranked = sorted(
        ((services[service_id], tally) for service_id, tally in by_service.items()),
        key=lambda pair: (-pair[1].booked, -pair[1].total, pair[0].name, str(pair[0].id)),
    )
    members = await _staff(db, reach, list(by_staff))
    working = await _working_seconds(db, members, period)
    staff = [
        StaffFigures(member, by_staff.get(member.id) or Tally(),
                     (by_staff[member.id].booked_seconds if member.id in by_staff else 0.0)
                     + sessions.get(member.id, 0.0),
                     working.get(member.id, 0.0))
        for member in members
    ]
    return AnalyticsReport(
        period=period, whole_tenant=reach.staff_ids is None, totals=totals,
        buckets=sorted(by_bucket.items()), services=ranked, staff=staff,
        new_customers=new, returning_customers=returning,
    )


def _tallies(
    group: BookingGroup | MoneyGroup, totals: Tally, by_bucket: dict[date, Tally],
    by_service: dict[uuid.UUID, Tally], by_staff: dict[uuid.UUID, Tally],
) -> list[Tally]:
    """The tallies a group adds to: a group with a bucket counts in the totals too (every
    booking is in one bucket, whether the groups are by bucket alone or by all three keys)."""
    tallies = []
    if group.bucket is not None:
        tallies += [totals, by_bucket.setdefault(group.bucket, Tally())]
    if group.service_id is not None:
        tallies.append(by_service[group.service_id])
    if group.staff_id is not None:
        tallies.append(by_staff[group.staff_id])
    return tallies


async def _services(
    db: AsyncSession, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Service]:
    if not ids:
        return {}
    rows = await db.execute(
        sa.select(Service).where(Service.tenant_id == tenant_id, Service.id.in_(ids)))
    return {service.id: service for service in rows.scalars()}


async def _staff(
    db: AsyncSession, reach: Reach, booked: list[uuid.UUID]
) -> list[StaffMember]:
    """The staff members in reach: the ones asked about, or every active one of the tenant and
    anyone else with bookings in the period; by name."""
    statement = sa.select(StaffMember).where(StaffMember.tenant_id == reach.tenant_id)
    if reach.staff_ids is not None:
        statement = statement.where(StaffMember.id.in_(reach.staff_ids))
    else:
        statement = statement.where(
            sa.or_(StaffMember.active.is_(True), StaffMember.id.in_(booked)))
    members = (await db.execute(statement)).scalars().all()
    return sorted(members, key=lambda member: (member.display_name, str(member.id)))


async def _working_seconds(
    db: AsyncSession, members: list[StaffMember], period: Period
) -> dict[uuid.UUID, float]:
    """Each staff member's net working time in the period (weekly hours less breaks, date
    overrides, time off), clipped to the period."""
    if not members:
        return {}
    window = period.window
    schedules = await load_schedules(db, [member.id for member in members], window)
    seconds: dict[uuid.UUID, float] = {}
    by_schedule: dict[tuple[object, ...], float] = {}  # colleagues with the same hours: once
    for member in members:
        calendar = schedules.calendar(member)
        key = (calendar.time_zone, calendar.weekly, calendar.overrides, calendar.time_off)
        if key not in by_schedule:
            total = 0.0
            for span in working_ranges(calendar, window):
                start, end = max(span.start, window.start), min(span.end, window.end)
                if start < end:
                    total += (end - start).total_seconds()
            by_schedule[key] = total
        seconds[member.id] = by_schedule[key]
    return seconds
