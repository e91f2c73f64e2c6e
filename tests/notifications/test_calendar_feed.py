"""A staff member's private ICS feed: issued, fetched over HTTP like a calendar app does,
rotated and revoked; only the staff member and managers may manage it."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import httpx
import icalendar
import sqlalchemy as sa

from boka.config import Settings
from boka.models.notifications import StaffCalendarFeed
from boka.models.tenancy import Role
from tests.booking.support import gid
from tests.notifications.support import book, cancel, future_day, local
from tests.servers import clean_env, uvicorn_server
from tests.support import GraphQLClient, World

ISSUE = """mutation Issue($input: CalendarFeedInput!) {
  issueCalendarFeed(input: $input) { url staffMember { id displayName } errors { code field message } }
}"""
REVOKE = """mutation Revoke($input: CalendarFeedInput!) {
  revokeCalendarFeed(input: $input) { staffMember { id } errors { code } }
}"""


def _path(url: str) -> str:
    return url.removeprefix("https://book.salon.example")


async def test_staff_subscribe_to_their_bookings_and_rotation_revokes_the_old_url(
    gql: GraphQLClient, world: World, http: httpx.AsyncClient
) -> None:
    first = await book(gql, world, email="carl@example.com", hour=10)
    second = await book(gql, world, email="dana@example.com", hour=13, tenant=first.tenant, staffed=first.staffed)
    third = await book(gql, world, email="erin@example.com", hour=15, tenant=first.tenant, staffed=first.staffed)
    await cancel(gql, third)
    staff = first.staffed.people[0]
    variables = {"input": {"staffMemberId": first.staffed.staff_id()}}

    issued = await gql(ISSUE, variables, token=staff.token, tenant="salon")
    url = issued.data["issueCalendarFeed"]["url"]
    response = await http.get(_path(url))

    assert issued.data["issueCalendarFeed"]["errors"] == []
    assert url.startswith("https://book.salon.example/calendar/bkc_") and url.endswith(".ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Staff 0 · Salon"
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e["DTSTART"].dt)
    assert [str(e["SUMMARY"]) for e in events] == [
        "Haircut: carl@example.com", "Haircut: dana@example.com"  # the cancelled one is gone
    ]
    assert [e["DTSTART"].dt for e in events] == [local(future_day(3), h).astimezone(UTC) for h in (10, 13)]
    assert str(events[0]["UID"]) == f"booking-{first.booking_id}@book.salon.example"
    assert second.booking_id != first.booking_id
    # Only the hash of the token is stored.
    async with world.runtime.database.transaction(all_tenants=True) as db:
        stored = (await db.execute(sa.select(StaffCalendarFeed.token_hash))).scalars().all()
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(stored) == 1 and token not in stored[0]

    rotated = await gql(ISSUE, variables, token=staff.token, tenant="salon")
    new_url = rotated.data["issueCalendarFeed"]["url"]
    assert new_url != url
    assert (await http.get(_path(url))).status_code == 404
    assert (await http.get(_path(new_url))).status_code == 200

    revoked = await gql(REVOKE, variables, token=staff.token, tenant="salon")
    assert revoked.data["revokeCalendarFeed"]["errors"] == []
    assert (await http.get(_path(new_url))).status_code == 404
    assert (await http.get("/calendar/bkc_made-up.ics")).status_code == 404


async def test_only_the_staff_member_and_managers_manage_a_feed(gql: GraphQLClient, world: World) -> None:
    booked = await book(gql, world)
    other_staff = await world.person(booked.tenant, Role.STAFF)
    manager = await world.person(booked.tenant, Role.MANAGER)
    variables = {"input": {"staffMemberId": booked.staffed.staff_id()}}

    by_customer = await gql(ISSUE, variables, token=booked.customer.token, tenant="salon")
    by_colleague = await gql(ISSUE, variables, token=other_staff.token, tenant="salon")
    by_manager = await gql(ISSUE, variables, token=manager.token, tenant="salon")
    elsewhere = await world.tenant("other")
    other_manager = await world.person(elsewhere, Role.MANAGER)
    across_tenants = await gql(ISSUE, variables, token=other_manager.token, tenant="other")

    assert by_customer.error_codes == ["FORBIDDEN"]
    assert by_colleague.error_codes == ["FORBIDDEN"]
    assert by_manager.data["issueCalendarFeed"]["url"].endswith(".ics")
    assert across_tenants.error_codes == ["NOT_FOUND"]
    wrong_type = await gql(ISSUE, {"input": {"staffMemberId": gid("Service", booked.staffed.service.id)}},
                           token=manager.token, tenant="salon")
    assert [e["code"] for e in wrong_type.data["issueCalendarFeed"]["errors"]] == ["INVALID_INPUT"]


async def test_a_calendar_app_fetches_the_feed_from_a_real_server(
    gql: GraphQLClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    booked = await book(gql, world)
    issued = await gql(ISSUE, {"input": {"staffMemberId": booked.staffed.staff_id()}},
                       token=booked.staffed.people[0].token, tenant="salon")
    path = _path(issued.data["issueCalendarFeed"]["url"])
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "",
                    public_url="https://book.salon.example", log_level="INFO")
    log = tmp_path / "server.log"

    with uvicorn_server(env, log) as base:
        response = httpx.get(f"{base}{path}", headers={"User-Agent": "Google-Calendar-Importer"}, timeout=30)

    assert response.status_code == 200
    [event] = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert event["DTSTART"].dt == booked.start.astimezone(UTC)
    # The secret part of the URL never reaches the request log.
    logged = log.read_text()
    assert '"path": "/calendar/\\u2026"' in logged or '"path": "/calendar/…"' in logged
    assert path.split("/")[-1] not in logged
