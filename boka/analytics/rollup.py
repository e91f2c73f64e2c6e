"""The daily rollup (PostgreSQL, migration 0018): a period's figures from per-day sums, with
the days whose bookings changed since the rollup saw them (the dirty days) read from the
bookings themselves, so the answer is always the raw computation's.

What keeps it exact:
- triggers on bookings, payments and refunds mark the UTC date of every booking they touch
  (``analytics_dirty_days``) in the writing transaction; a UTC date may hold bookings of the
  local day before, on and after it, so each mark makes those three local days dirty;
- ``analytics_rollup_refresh(tenant)`` (a job after each booking or money event, see
  boka/jobs/analytics.py) recomputes the dirty days and removes the marks it saw;
- a read takes the rollup for the clean days of the period, and runs the raw queries
  (boka/analytics/queries.py) for the dirty ones; customers touched by a dirty day (new or
  returning depends on their whole history) are counted from the bookings too.

The rollup answers only for a period in the zone its days were cut in (the tenant's, recorded
in ``analytics_rollup_state``); otherwise, and on SQLite, the raw computation answers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.analytics.periods import Granularity, Period, local_midnight
from boka.analytics.queries import (
    BookingGroup,
    MoneyGroup,
    Reach,
    booking_groups,
    money_groups,
    new_and_returning_customers,
    seconds,
    session_seconds_by_staff,
)
from boka.booking.availability import TimeRange
from boka.models.bookings import BookingStatus


@dataclass
class Figures:
    """What the SQL of a report adds up to, before the arithmetic of boka/analytics/figures.py."""

    bookings: list[BookingGroup]
    money: list[MoneyGroup]
    sessions: dict[uuid.UUID, float]
    new_customers: int
    returning_customers: int


async def raw_figures(db: AsyncSession, reach: Reach, period: Period) -> Figures:
    """The figures from the bookings themselves (the rollup's oracle in the tests)."""
    bookings = await booking_groups(db, reach, period)
    money = await money_groups(db, reach, period)
    sessions = await session_seconds_by_staff(db, reach, period)
    new, returning = await new_and_returning_customers(db, reach, period)
    return Figures(bookings, money, sessions, new, returning)


async def refresh_rollup(db: AsyncSession, tenant_id: uuid.UUID, *, rebuild: bool = False) -> int:
    """Fold the tenant's dirty days into its rollup (``rebuild``: recompute all of it, the
    repair path). How many local days it recomputed; -1 for all. PostgreSQL only."""
    return int((await db.execute(
        sa.text("SELECT analytics_rollup_refresh(:tenant, :rebuild)"),
        {"tenant": tenant_id, "rebuild": rebuild})).scalar_one())


async def tenants_with_dirty_days(db: AsyncSession) -> list[uuid.UUID]:
    """The tenants whose rollup has days to refresh (an all-tenants transaction sees them all)."""
    return list((await db.execute(
        sa.text("SELECT DISTINCT tenant_id FROM analytics_dirty_days"))).scalars())


async def rollup_figures(db: AsyncSession, reach: Reach, period: Period) -> Figures | None:
    """The figures from the rollup and the dirty days, or None where the rollup cannot answer
    (SQLite, a period in another zone than the rollup's, a tenant not built yet)."""
    if db.bind.dialect.name != "postgresql":
        return None
    built_zone = (await db.execute(
        sa.text("SELECT time_zone FROM analytics_rollup_state WHERE tenant_id = :tenant"),
        {"tenant": reach.tenant_id})).scalar_one_or_none()
    if built_zone != period.zone:
        return None
    marks = (await db.execute(
        sa.text("SELECT utc_day FROM analytics_dirty_days WHERE tenant_id = :tenant"),
        {"tenant": reach.tenant_id})).scalars().all()
    dirty = sorted({mark + timedelta(days=k) for mark in marks for k in (-1, 0, 1)})
    in_period = [day for day in dirty if period.first_day <= day <= period.last_day]

    bookings, money, sessions = await _rolled_up(db, reach, period, in_period)
    if in_period:
        windows = _windows(in_period, period.zone)
        bookings += await booking_groups(db, reach, period, windows)
        money += await money_groups(db, reach, period, windows)
        for staff_id, length in (await session_seconds_by_staff(db, reach, period,
                                                                windows)).items():
            sessions[staff_id] = sessions.get(staff_id, 0.0) + length
    if reach.staff_ids is not None:  # a staff member's own customers: few bookings, raw
        new, returning = await new_and_returning_customers(db, reach, period)
    else:
        new, returning = await _customers(db, reach, period, dirty)
    return Figures(bookings, money, sessions, new, returning)


def _windows(days: list[date], zone: str) -> list[TimeRange]:
    """The instants of ``days`` (sorted local dates), one range per run of consecutive days."""
    runs: list[list[date]] = []
    for day in days:
        if runs and runs[-1][-1] + timedelta(days=1) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    return [TimeRange(local_midnight(run[0], zone),
                      local_midnight(run[-1] + timedelta(days=1), zone)) for run in runs]


def _bucket(period: Period) -> str:
    if period.granularity is Granularity.DAY:
        return "day"
    return f"date_trunc('{period.granularity.value}', day::timestamp)::date"


def _whole_months(period: Period, dirty: list[date]) -> tuple[list[date], list[tuple[date, date]]]:
    """The first days of the months wholly inside the period with no dirty day, and the spans
    of the period's days outside them (first and last day of each)."""
    dirty_set = set(dirty)
    months: list[date] = []
    rest: list[tuple[date, date]] = []
    day = period.first_day
    while day <= period.last_day:
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        month_end = following - timedelta(days=1)
        span_end = min(month_end, period.last_day)
        whole = day.day == 1 and month_end <= period.last_day
        if whole and not any(day + timedelta(days=k) in dirty_set
                             for k in range((month_end - day).days + 1)):
            months.append(day)
        elif rest and rest[-1][1] + timedelta(days=1) == day:
            rest[-1] = (rest[-1][0], span_end)
        else:
            rest.append((day, span_end))
        day = following
    return months, rest


SUMS = """sum(bookings), sum(list_cents), sum(charged_cents), sum(private_time), sum(lead_time),
          sum(collected_cents), sum(refunded_cents), sum(money_entries)"""


async def _rolled_up(
    db: AsyncSession, reach: Reach, period: Period, dirty: list[date]
) -> tuple[list[BookingGroup], list[MoneyGroup], dict[uuid.UUID, float]]:
    """The groups of the period's clean days, as the raw queries would give them: by bucket,
    by service and by staff member (each with status and currency), and session time."""
    params: dict[str, Any] = {"tenant": reach.tenant_id, "first": period.first_day,
                              "last": period.last_day, "dirty": dirty}
    where = "tenant_id = :tenant AND day BETWEEN :first AND :last AND NOT (day = ANY (:dirty))"
    if reach.staff_ids is None:
        # The tenant's: buckets and services from the 'service' grain, staff from 'staff'.
        statement = f"""
            SELECT {_bucket(period)} AS bucket, service_id, NULL::uuid AS staff_id,
                   grouping(service_id) AS by_bucket, status, currency, {SUMS}
            FROM analytics_daily WHERE grain = 'service' AND {where}
            GROUP BY GROUPING SETS (({_bucket(period)}, status, currency),
                                    (service_id, status, currency))
            UNION ALL
            SELECT NULL, NULL, staff_id, 2, status, currency, {SUMS}
            FROM analytics_daily
            WHERE tenant_id = :tenant AND (
                (grain = 'staff_month' AND day = ANY (:months))
                OR (grain = 'staff' AND ({{spans}}) AND NOT (day = ANY (:dirty))))
            GROUP BY staff_id, status, currency"""
        # Staff figures: whole clean months from the month rows, the other days from the days.
        months, rest = _whole_months(period, dirty)
        params["months"] = months
        for index, (start, end) in enumerate(rest):
            params[f"from{index}"], params[f"to{index}"] = start, end
        spans = " OR ".join(f"day BETWEEN :from{i} AND :to{i}" for i in range(len(rest)))
        statement = statement.replace("{spans}", spans or "FALSE")
        staff_filter = ""
    else:
        params["staff"] = list(reach.staff_ids)
        statement = f"""
            SELECT {_bucket(period)} AS bucket, service_id, staff_id,
                   grouping(service_id, staff_id) AS by_bucket, status, currency, {SUMS}
            FROM analytics_daily
            WHERE grain = 'both' AND staff_id = ANY (:staff) AND {where}
            GROUP BY GROUPING SETS (({_bucket(period)}, status, currency),
                                    (service_id, status, currency),
                                    (staff_id, status, currency))"""
        staff_filter = " AND staff_id = ANY (:staff)"
    bookings: list[BookingGroup] = []
    money: list[MoneyGroup] = []
    for row in await db.execute(sa.text(statement), params):
        (bucket, service_id, staff_id, kind, status, currency, count, listed, charged, private,
         lead, collected, refunded, entries) = row
        # kind: 3 (or 1 for the tenant's) = grouped by bucket; else by service or staff.
        if reach.staff_ids is None:
            keys = (bucket, None, None) if kind == 1 else (
                (None, service_id, None) if kind == 0 else (None, None, staff_id))
        else:
            keys = (bucket, None, None) if kind == 3 else (
                (None, service_id, None) if kind == 1 else (None, None, staff_id))
        if count:
            bookings.append(BookingGroup(
                *keys, BookingStatus(status), currency, int(count), int(listed), int(charged),
                seconds(private), seconds(lead)))
        if entries:
            money.append(MoneyGroup(*keys, currency, int(collected), int(refunded)))
    sessions: dict[uuid.UUID, float] = {}
    for staff_id, length in await db.execute(sa.text(
            f"SELECT staff_id, sum(session_time) FROM analytics_daily "
            f"WHERE grain = 'session' AND {where}{staff_filter} GROUP BY staff_id"), params):
        sessions[staff_id] = seconds(length)
    return bookings, money, sessions


async def _customers(
    db: AsyncSession, reach: Reach, period: Period, dirty: list[date]
) -> tuple[int, int]:
    """New and returning customers of the tenant: from their recorded visits, except for the
    customers a dirty day touches (by the rollup's visits or by today's bookings), who are
    counted from their bookings."""
    stale: list[uuid.UUID] = []
    params: dict[str, Any] = {"tenant": reach.tenant_id, "first": period.first_day,
                              "last": period.last_day}
    if dirty:
        windows = _windows(dirty, period.zone)
        by_booking = sa.text(
            "SELECT DISTINCT customer_id FROM bookings WHERE tenant_id = :tenant AND ("
            + " OR ".join(f"(start_time >= :s{i} AND start_time < :e{i})"
                          for i in range(len(windows))) + ")")
        by_visit = sa.text(
            "SELECT customer_id FROM analytics_customer_visits WHERE tenant_id = :tenant "
            "AND visits && (SELECT range_agg(daterange(d, d, '[]')) "
            "FROM unnest(CAST(:days AS date[])) AS d)")
        bounds = {f"s{i}": w.start for i, w in enumerate(windows)} | {
            f"e{i}": w.end for i, w in enumerate(windows)}
        found = set((await db.execute(by_booking, {"tenant": reach.tenant_id, **bounds})).scalars())
        found |= set((await db.execute(by_visit, {"tenant": reach.tenant_id,
                                                  "days": dirty})).scalars())
        stale = sorted(found)
    params["stale"] = stale
    seen, returning = (await db.execute(sa.text(
        "SELECT count(*), count(*) FILTER (WHERE lower(visits) < :first) "
        "FROM analytics_customer_visits WHERE tenant_id = :tenant "
        "AND visits && daterange(:first, :last, '[]') AND NOT (customer_id = ANY (:stale))"),
        params)).one()
    new = int(seen) - int(returning)
    if stale:
        stale_new, stale_returning = await new_and_returning_customers(db, reach, period, stale)
        new, returning = new + stale_new, int(returning) + stale_returning
    return new, int(returning)
