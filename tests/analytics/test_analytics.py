"""Analytics over GraphQL: every figure equals a brute-force recomputation over a hand-built
salon (day boundaries in the tenant's zone across a DST change included), on PostgreSQL under
row level security and on embedded SQLite; and the authorization matrix (staff: their own;
managers and owners: the tenant's; customers: refused)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.jobs.analytics import refresh_tenant_rollup

from tests.analytics.dataset import (
    FIRST,
    LAST,
    booked_minutes,
    build_salon,
    by_day,
    figures,
    in_period,
    local_day,
    new_and_returning,
    working_minutes,
)
from tests.booking.support import gid
from tests.support import GraphQLClient, World
from tests.web.test_idempotency_sqlite import sqlite_app  # noqa: F401  (a fixture)

FIGURES = """bookings { total pending confirmed completed cancelled noShow }
  revenue { gross { amount currency } discounts { amount currency }
            refunds { amount currency } net { amount currency } }
  cancellationRate noShowRate averageLeadTimeHours"""
ANALYTICS = f"""query Analytics($from: Date!, $to: Date!, $granularity: AnalyticsGranularity!,
                                 $staffId: ID) {{
  analytics(from: $from, to: $to, granularity: $granularity, staffId: $staffId) {{
    from to timeZone granularity wholeTenant newCustomers returningCustomers
    totals {{ {FIGURES} }}
    buckets {{ start figures {{ {FIGURES} }} }}
    services {{ service {{ name }} figures {{ {FIGURES} }} }}
    topServices(limit: 1) {{ service {{ name }} }}
    staff {{ staffMember {{ displayName }} bookedMinutes workingMinutes utilisation
            figures {{ {FIGURES} }} }}
  }}
}}"""


def period(granularity: str = "DAY", **more: Any) -> dict[str, Any]:
    return {"from": FIRST.isoformat(), "to": LAST.isoformat(), "granularity": granularity, **more}


def close(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, floats to 1e-6 (SQL sums them in another order)."""
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float) and got[key] is not None:
            assert got[key] == pytest.approx(value, abs=1e-6), key
        else:
            assert got[key] == value, key


async def check_against_brute_force(application: Any, *, rollup: bool = False) -> None:
    world = World(application.state.runtime)
    salon = await build_salon(world)
    if rollup:  # fold the salon into the daily rollup, as the refresh job does after events
        assert await refresh_tenant_rollup(world.runtime, salon.tenant.id) == "rebuilt"
        async with world.runtime.database.transaction(salon.tenant.id) as db:
            assert (await db.execute(sa.text("SELECT count(*) FROM analytics_dirty_days"))
                    ).scalar() == 0
            assert (await db.execute(sa.text("SELECT count(*) FROM analytics_daily"))
                    ).scalar() > 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                 base_url="http://t") as http:
        gql = GraphQLClient(http)
        result = await gql(ANALYTICS, period(), token=salon.owner.token, tenant="analytics")
        assert result.errors == []
        report = result.data["analytics"]
        weekly = await gql(ANALYTICS, period("WEEK"), token=salon.owner.token, tenant="analytics")
        monthly = await gql(ANALYTICS, period("MONTH"), token=salon.manager.token,
                            tenant="analytics")

    rows = [row for row in salon.rows if in_period(row)]
    assert (report["from"], report["to"], report["timeZone"]) == (
        "2026-03-23", "2026-04-05", "Europe/Berlin")
    assert report["wholeTenant"] is True
    close(report["totals"], figures(rows))
    assert (report["newCustomers"], report["returningCustomers"]) == new_and_returning(
        rows, salon.rows)

    # Days: local dates in Berlin, not UTC ones; the 00:30 bookings belong to the local day.
    days = by_day(rows)
    assert [b["start"] for b in report["buckets"]] == [
        (FIRST + timedelta(days=n)).isoformat() for n in range(14)]
    for bucket in report["buckets"]:
        close(bucket["figures"], figures(days.get(date.fromisoformat(bucket["start"]), [])))
    first_day = report["buckets"][0]["figures"]["bookings"]
    assert first_day["completed"] >= 1  # 00:30 on 23 March is 22 March in UTC
    monday_30 = report["buckets"][7]["figures"]["bookings"]
    assert monday_30["cancelled"] >= 1  # 00:30 on 30 March (after the change) is 29 March UTC

    # Weeks start on Monday; one month bucket here (March) and one for April.
    assert [b["start"] for b in weekly.data["analytics"]["buckets"]] == ["2026-03-23", "2026-03-30"]
    for bucket in weekly.data["analytics"]["buckets"]:
        start = date.fromisoformat(bucket["start"])
        close(bucket["figures"], figures([row for row in rows if start <= local_day(
            row.booking.start_time) < start + timedelta(days=7)]))
    months = monthly.data["analytics"]["buckets"]
    assert [b["start"] for b in months] == ["2026-03-01", "2026-04-01"]
    assert sum(b["figures"]["bookings"]["total"] for b in months) == len(rows)

    # Services: most booked first; staff with their time.
    for entry in report["services"]:
        service_id = next(s.id for s in salon.services.values()
                          if s.name == entry["service"]["name"])
        close(entry["figures"], figures([r for r in rows if r.booking.service_id == service_id]))
    booked = [entry["figures"]["bookings"]["total"] - entry["figures"]["bookings"]["cancelled"]
              for entry in report["services"]]
    assert booked == sorted(booked, reverse=True)
    assert report["topServices"] == [{"service": report["services"][0]["service"]}]
    for entry in report["staff"]:
        name = entry["staffMember"]["displayName"].lower()
        mine = [r for r in rows if r.booking.staff_id == salon.staff[name].id]
        close(entry["figures"], figures(mine))
        assert entry["bookedMinutes"] == booked_minutes(mine)
        assert entry["workingMinutes"] == working_minutes(name)
        assert entry["utilisation"] == pytest.approx(booked_minutes(mine) / working_minutes(name),
                                                     rel=1e-3)


async def test_figures_match_brute_force_on_postgresql(app: Any) -> None:
    await check_against_brute_force(app)


async def test_figures_from_the_daily_rollup_match_brute_force(app: Any) -> None:
    await check_against_brute_force(app, rollup=True)


@pytest.mark.sqlite
async def test_figures_match_brute_force_on_sqlite(sqlite_app: Any) -> None:
    await check_against_brute_force(sqlite_app)


async def test_the_authorization_matrix(app: Any, gql: GraphQLClient) -> None:
    world = World(app.state.runtime)
    salon = await build_salon(world, random_bookings=10)
    anna, ben = salon.staff["anna"], salon.staff["ben"]

    async def ask(token: str | None, **more: Any) -> Any:
        return await gql(ANALYTICS, period(**more), token=token, tenant="analytics")

    own = await ask(salon.anna.token)
    assert own.errors == []
    mine = own.data["analytics"]
    assert mine["wholeTenant"] is False
    assert [s["staffMember"]["displayName"] for s in mine["staff"]] == ["Anna"]
    close(mine["totals"], figures([r for r in salon.rows if in_period(r, anna.id)]))
    again = await ask(salon.anna.token, staffId=gid("StaffMember", anna.id))
    assert again.data["analytics"]["totals"] == mine["totals"]
    assert (await ask(salon.anna.token, staffId=gid("StaffMember", ben.id))).error_codes == [
        "FORBIDDEN"]

    one = await ask(salon.manager.token, staffId=gid("StaffMember", ben.id))
    assert one.data["analytics"]["wholeTenant"] is False
    close(one.data["analytics"]["totals"], figures([r for r in salon.rows
                                                    if in_period(r, ben.id)]))
    assert (await ask(salon.customer.token)).error_codes == ["FORBIDDEN"]
    assert (await ask(None)).error_codes == ["UNAUTHENTICATED"]

    # Bad input: a clear VALIDATION_ERROR, never INTERNAL.
    backwards = await gql(ANALYTICS, {"from": "2026-04-05", "to": "2026-03-23",
                                      "granularity": "DAY"}, token=salon.owner.token,
                          tenant="analytics")
    too_long = await gql(ANALYTICS, {"from": "2025-01-01", "to": "2026-03-23",
                                     "granularity": "DAY"}, token=salon.owner.token,
                         tenant="analytics")
    wrong_id = await ask(salon.owner.token, staffId=gid("Service", anna.id))
    for answer in (backwards, too_long, wrong_id):
        assert answer.error_codes == ["VALIDATION_ERROR"]
