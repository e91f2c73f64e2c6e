"""Busy time from staff calendars, end to end: real Google- and Outlook-style exports served by a
local HTTP server, attached over GraphQL, polled (the poll job's body), expanded and taken out of
availability and booking; conditional GET, failures, size cap, timeout, and who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from boka.booking.external_calendars import poll_feed
from boka.config import Settings
from boka.jobs.external_calendars import enqueue_due_polls
from boka.models.external_calendars import ExternalBusyBlock, ExternalCalendarFeed
from boka.models.tenancy import Role, Tenant
from boka.models.types import utcnow
from tests.booking.feed_server import Feed, FeedServer, feed_server, render
from tests.booking.support import BookingWorld, Staffed, local
from tests.conftest import settings_for
from tests.events.support import CREATE
from tests.support import GraphQLClient, Person, World

BERLIN = ZoneInfo("Europe/Berlin")
# The secret part of a Google address: it must never come back from the API.
SECRET = "private-3f9c1e27d8b54a0f9e6c2b7a1d4e8f05"

ADD = """mutation A($input: AddExternalCalendarInput!) { addExternalCalendar(input: $input) {
  externalCalendar { id name urlHint lastError busyBlockCount } errors { field code message } } }"""
REMOVE = """mutation R($input: ExternalCalendarIdInput!) { removeExternalCalendar(input: $input) {
  removedId errors { code } } }"""
REFRESH = """mutation R($input: ExternalCalendarIdInput!) { refreshExternalCalendar(input: $input) {
  externalCalendar { id } errors { code } } }"""
CALENDARS = """query C($id: ID!) { node(id: $id) { ... on StaffMember { externalCalendars {
  id name urlHint lastPolledAt lastSuccessAt lastError lastErrorAt busyBlockCount } } } }"""
EXPLAIN = """query E($service: ID!, $start: DateTime!) {
  explainSlot(serviceId: $service, start: $start) { staff { reasons } } }"""
SLOTS = """query S($service: ID!, $from: DateTime!, $to: DateTime!, $staff: ID) {
  availability(serviceId: $service, from: $from, to: $to, staffId: $staff) { start } }"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # The webhook tests' override lets feeds come from the local test server, as it lets webhooks go to one.
    return settings_for(postgres_url, webhook_allow_private_targets=True,
                        calendar_feed_max_bytes=64 * 1024, calendar_feed_timeout_seconds=1)


def first_monday(weeks_ahead: int = 2) -> date:
    today = utcnow().astimezone(BERLIN).date()
    return today + timedelta(days=7 - today.weekday() + 7 * (weeks_ahead - 1))


def google_path() -> str:
    return f"/calendar/ical/anna%40example.com/{SECRET}/basic.ics"


class Scene:
    def __init__(self, gql: GraphQLClient, world: World, tenant: Tenant, staffed: Staffed, owner: Person,
                 server: FeedServer) -> None:
        self.gql, self.world, self.tenant, self.staffed = gql, world, tenant, staffed
        self.owner, self.server = owner, server
        self.staff = staffed.people[0]
        self.monday = first_monday()

    async def call(self, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        return await self.gql(query, variables, token=token or self.staff.token, tenant="salon")

    async def attach(self, url: str, token: str | None = None, staff_index: int = 0) -> dict[str, Any]:
        result = await self.call(ADD, {"input": {"staffMemberId": self.staffed.staff_id(staff_index),
                                                 "url": url, "name": "Work"}}, token)
        payload = result.data["addExternalCalendar"]
        assert payload["errors"] == [], payload
        return payload["externalCalendar"]

    async def poll(self, calendar: dict[str, Any]) -> Any:
        return await poll_feed(self.world.runtime, feed_row_id(calendar["id"]))

    async def starts(self, day: date) -> set[datetime]:
        result = await self.call(SLOTS, {
            "service": self.staffed.service_id, "staff": self.staffed.staff_id(),
            "from": local(day, 0).isoformat(), "to": local(day + timedelta(days=1), 0).isoformat(),
        })
        assert result.errors == [], result.errors
        return {datetime.fromisoformat(slot["start"]) for slot in result.data["availability"]}

    async def calendars(self, token: str | None = None, staff_index: int = 0) -> list[dict[str, Any]]:
        result = await self.call(CALENDARS, {"id": self.staffed.staff_id(staff_index)}, token)
        return result.data["node"]["externalCalendars"]

    async def book(self, start: datetime) -> dict[str, Any]:
        result = await self.call(CREATE, {"input": {
            "serviceId": self.staffed.service_id, "staffId": self.staffed.staff_id(),
            "start": start.isoformat(), "customer": {"email": "walk-in@example.com"}}}, self.owner.token)
        return result.data["createBooking"]


def feed_row_id(global_id: str) -> uuid.UUID:
    import base64

    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


def hourly(day: date, first: int = 9, last: int = 16) -> set[datetime]:
    """The 60-minute slots on a 30-minute grid of a 09:00-17:00 day."""
    return {local(day, hour, minute) for hour in range(first, last + 1) for minute in (0, 30)
            if local(day, hour, minute) + timedelta(hours=1) <= local(day, 17)}


def without(slots: set[datetime], busy_start: datetime, busy_end: datetime) -> set[datetime]:
    return {s for s in slots if not (s < busy_end and s + timedelta(hours=1) > busy_start)}


@pytest.fixture
async def scene(gql: GraphQLClient, world: World) -> Any:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, staff_count=2)
    owner = await world.person(tenant, Role.OWNER)
    with feed_server() as server:
        yield Scene(gql, world, tenant, staffed, owner, server)


async def test_a_google_feed_blocks_time_within_one_poll_and_a_304_keeps_it(scene: Scene) -> None:
    monday = scene.monday
    days = [monday + timedelta(days=i) for i in range(12)]
    before = {day: await scene.starts(day) for day in (days[0], days[1], days[3], days[4], days[7])}
    assert before[days[0]] == hourly(days[0])

    url = scene.server.publish(google_path(), render("google", monday), etag='"v1"')
    calendar = await scene.attach(url)
    assert SECRET not in str(calendar) and calendar["urlHint"].endswith("basic.ics")
    outcome = await scene.poll(calendar)
    assert (outcome.status, outcome.blocks) == ("updated", 7)

    # Monday: the weekly standup 10:00-11:00 (RRULE BYDAY=MO,WE), Berlin time from its VTIMEZONE.
    assert await scene.starts(days[0]) == without(hourly(days[0]), local(days[0], 10), local(days[0], 11))
    # Tuesday: an all-day event takes the whole local day.
    assert await scene.starts(days[1]) == set()
    # Wednesday: the standup's EXDATE frees it.
    assert await scene.starts(days[2]) == hourly(days[2])
    # Thursday: a transparent ("free") event blocks nothing.
    assert await scene.starts(days[3]) == hourly(days[3])
    # Friday: a UTC-time lunch blocks its instant; a cancelled call blocks nothing.
    lunch = datetime.combine(days[4], datetime.min.time(), UTC).replace(hour=11)
    assert await scene.starts(days[4]) == without(hourly(days[4]), lunch, lunch + timedelta(hours=1))
    # Next Monday: the RECURRENCE-ID override moved that standup to 14:00-15:00.
    assert await scene.starts(days[7]) == without(hourly(days[7]), local(days[7], 14), local(days[7], 15))

    # Booking checks the same: the standup's hour is refused, the hour after is fine.
    refused = await scene.book(local(days[0], 10))
    assert [e["code"] for e in refused["errors"]] == ["SLOT_UNAVAILABLE"]
    explained = await scene.call(EXPLAIN, {"service": scene.staffed.service_id,
                                           "start": local(days[0], 10).isoformat()}, scene.owner.token)
    assert explained.data["explainSlot"]["staff"][0]["reasons"] == ["EXTERNAL_BUSY"]
    assert (await scene.book(local(days[0], 11)))["errors"] == []

    # The next poll sends the validators; the 304 keeps the blocks and records the success.
    again = await scene.poll(calendar)
    assert again.status == "not_modified"
    first, second = scene.server.at(google_path())
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == '"v1"' and second.status == 304
    assert second.headers["if-modified-since"] == scene.server.feeds[google_path()].last_modified
    [shown] = await scene.calendars()
    assert shown["lastError"] is None and shown["busyBlockCount"] == 7 and shown["lastSuccessAt"]
    assert await scene.starts(days[1]) == set()

    # A changed calendar (new ETag) replaces the blocks: without the fair, Tuesday is free.
    parts = render("google", monday).split(b"BEGIN:VEVENT")
    changed = b"BEGIN:VEVENT".join(part for part in parts if b"Trade fair" not in part)
    scene.server.publish(google_path(), changed, etag='"v2"')
    assert (await scene.poll(calendar)).status == "updated"
    assert await scene.starts(days[1]) == hourly(days[1])


async def test_an_outlook_feed_with_windows_zones_and_floating_times(scene: Scene) -> None:
    monday = scene.monday
    url = scene.server.publish("/owa/calendar/0f1e2d3c4b5a/reachcalendar/calendar.ics",
                               render("outlook", monday), with_dates=True)
    calendar = await scene.attach(url)
    assert (await scene.poll(calendar)).status == "updated"
    gym = (local(monday, 8), local(monday, 9, 30))
    # Daily gym 08:00-09:30 "W. Europe Standard Time" until Wednesday, Tuesday excluded.
    assert await scene.starts(monday) == without(hourly(monday), *gym)
    tuesday, wednesday, thursday, friday = (monday + timedelta(days=i) for i in (1, 2, 3, 4))
    assert await scene.starts(tuesday) == hourly(tuesday)
    assert await scene.starts(wednesday) == without(hourly(wednesday), local(wednesday, 8), local(wednesday, 9, 30))
    # A floating time (no zone) is the staff member's wall clock; "free" (transparent) blocks nothing.
    assert await scene.starts(thursday) == without(hourly(thursday), local(thursday, 15), local(thursday, 16))
    assert await scene.starts(friday) == hourly(friday)
    # No ETag: Last-Modified alone makes the next fetch conditional.
    assert (await scene.poll(calendar)).status == "not_modified"

    # A second calendar adds its busy time to the first's (stored merged, as one set of
    # blocks); removing it takes away its own busy time only.
    google = await scene.attach(scene.server.publish(google_path(), render("google", monday), etag='"g"'))
    assert (await scene.poll(google)).status == "updated"
    standup = (local(monday, 10), local(monday, 11))
    assert await scene.starts(monday) == without(without(hourly(monday), *gym), *standup)
    async with scene.world.runtime.database.transaction(all_tenants=True) as db:
        blocks = (await db.execute(sa.select(ExternalBusyBlock.starts_at, ExternalBusyBlock.ends_at)
                                   .order_by(ExternalBusyBlock.starts_at))).all()
    assert len(blocks) == 3 + 7 and all(a.ends_at < b.starts_at for a, b in zip(blocks, blocks[1:]))
    removed = await scene.call(REMOVE, {"input": {"id": google["id"]}})
    assert removed.data["removeExternalCalendar"]["errors"] == []
    assert await scene.starts(monday) == without(hourly(monday), *gym)
    assert await scene.starts(tuesday) == hourly(tuesday)


async def test_failing_feeds_show_their_error_and_never_block_booking(scene: Scene) -> None:
    monday = scene.monday
    server = scene.server
    good_url = server.publish(google_path(), render("google", monday), etag='"v1"')
    good = await scene.attach(good_url)
    assert (await scene.poll(good)).status == "updated"

    server.feeds["/huge.ics"] = Feed(b"BEGIN:VCALENDAR\r\n" + b"X" * (200 * 1024))
    server.feeds["/slow.ics"] = Feed(render("google", monday), delay=3)
    server.feeds["/gone.ics"] = Feed(b"", status=404)
    server.feeds["/junk.ics"] = Feed(b"<html>Sign in to see this calendar</html>")
    server.feeds["/loop.ics"] = Feed(b"", redirect_to="/loop.ics")
    expected = {
        "/huge.ics": "larger than 65536 bytes",
        "/slow.ics": "timed out after 1 s",
        "/gone.ics": "HTTP 404",
        "/junk.ics": "not an iCalendar file",
        "/loop.ics": "more than 5 redirects",
    }
    for path, message in expected.items():
        calendar = await scene.attach(server.base + path)
        outcome = await scene.poll(calendar)
        assert outcome.status == "failed" and message in (outcome.error or ""), (path, outcome)
    closed = await scene.attach("http://127.0.0.1:9/" + SECRET + "/calendar.ics")
    assert (await scene.poll(closed)).status == "failed"

    shown = {c["id"]: c for c in await scene.calendars()}
    assert len(shown) == 7
    for calendar_id, calendar in shown.items():
        if calendar_id == good["id"]:
            assert calendar["lastError"] is None
            continue
        assert calendar["lastError"] and calendar["lastErrorAt"] and calendar["busyBlockCount"] == 0
        assert SECRET not in calendar["lastError"]

    # The good feed's server now fails: its error shows, its last good blocks stay.
    server.feeds[google_path()].status = 500
    assert (await poll_feed(scene.world.runtime, feed_row_id(good["id"]))).status == "failed"
    [now_shown] = [c for c in await scene.calendars() if c["id"] == good["id"]]
    assert now_shown["lastError"] == "HTTP 500" and now_shown["busyBlockCount"] == 7
    assert local(monday, 10) not in await scene.starts(monday)
    # Six failing feeds: booking goes on around the last good busy time.
    assert (await scene.book(local(monday, 12)))["errors"] == []

    # A redirect is followed (each hop checked) to the calendar.
    server.feeds[google_path()].status = 200
    server.feeds["/moved.ics"] = Feed(b"", redirect_to=google_path())
    moved = await scene.attach(server.base + "/moved.ics", staff_index=0)
    assert (await scene.poll(moved)).status == "updated"


async def test_who_may_attach_see_and_remove_calendars(scene: Scene, world: World) -> None:
    server = scene.server
    url = server.publish(google_path(), render("google", scene.monday), etag='"v1"')
    colleague = scene.staffed.people[1]
    manager = await world.person(scene.tenant, Role.MANAGER)
    customer = await world.person(scene.tenant, Role.CUSTOMER)

    # A colleague and a customer may not attach one for the staff member; the staff member may.
    for person in (colleague, customer):
        result = await scene.call(ADD, {"input": {"staffMemberId": scene.staffed.staff_id(), "url": url}}, person.token)
        assert result.error_codes == ["FORBIDDEN"]
    own = await scene.attach(url)
    # A manager attaches one for anyone on the team.
    for_colleague = await scene.attach(url, token=manager.token, staff_index=1)

    # The staff member and managers see the calendars; colleagues do not; the address never shows.
    assert [c["id"] for c in await scene.calendars()] == [own["id"]]
    assert [c["id"] for c in await scene.calendars(token=manager.token)] == [own["id"]]
    assert await scene.calendars(token=colleague.token) == []
    assert [c["id"] for c in await scene.calendars(token=colleague.token, staff_index=1)] == [for_colleague["id"]]
    node = await scene.call("query N($id: ID!) { node(id: $id) { id } }", {"id": own["id"]}, colleague.token)
    assert node.data["node"] is None
    for token in (scene.staff.token, manager.token):
        listing = await scene.call(CALENDARS, {"id": scene.staffed.staff_id()}, token)
        assert SECRET not in listing.response.text

    # At rest the address is sealed, not stored as given.
    async with world.runtime.database.transaction(all_tenants=True) as db:
        stored = (await db.execute(sa.select(ExternalCalendarFeed.url))).scalars().all()
    assert stored and all(SECRET not in value and "127.0.0.1" not in value for value in stored)
    assert world.runtime.secret_box.open(stored[0]) == url

    # Bad input is a typed user error that writes nothing.
    for bad in ("ftp://example.com/cal.ics", "not a url", "https://user:pw@example.com/c.ics"):
        result = await scene.call(ADD, {"input": {"staffMemberId": scene.staffed.staff_id(), "url": bad}})
        assert [(e["field"], e["code"]) for e in result.data["addExternalCalendar"]["errors"]] == [("url", "INVALID_INPUT")]
    # webcal:// (what "subscribe" links use) is fetched over https.
    webcal = await scene.attach("webcal://p42-caldav.icloud.com/published/2/MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3OA")
    assert webcal["urlHint"].startswith("https://p42-caldav.icloud.com/")

    # Polling fills the blocks; a colleague cannot refresh or remove; the owner of the calendar can.
    assert (await scene.poll(own)).status == "updated"
    assert local(scene.monday, 10) not in await scene.starts(scene.monday)
    for query in (REFRESH, REMOVE):
        denied = await scene.call(query, {"input": {"id": own["id"]}}, colleague.token)
        assert denied.error_codes == ["FORBIDDEN"]
    refreshed = await scene.call(REFRESH, {"input": {"id": own["id"]}})
    assert refreshed.data["refreshExternalCalendar"]["errors"] == []
    removed = await scene.call(REMOVE, {"input": {"id": own["id"]}})
    assert removed.data["removeExternalCalendar"]["removedId"] == own["id"]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        left = (await db.execute(sa.select(sa.func.count()).select_from(ExternalBusyBlock))).scalar_one()
    assert left == 0
    assert local(scene.monday, 10) in await scene.starts(scene.monday)


async def test_the_sweep_enqueues_each_due_feed_once(scene: Scene, world: World) -> None:
    url = scene.server.publish(google_path(), render("google", scene.monday), etag='"v1"')
    calendar = await scene.attach(url)  # enqueues its first poll
    runtime = world.runtime
    assert await enqueue_due_polls(runtime) == 0  # that first poll is already queued
    assert (await scene.poll(calendar)).status == "updated"
    assert await enqueue_due_polls(runtime) == 0  # just polled: not due
    async with runtime.database.transaction(all_tenants=True, write=True) as db:
        await db.execute(sa.update(ExternalCalendarFeed).values(
            last_polled_at=utcnow() - timedelta(seconds=runtime.settings.calendar_feed_poll_seconds + 1)))
    assert await enqueue_due_polls(runtime) == 1
    assert await enqueue_due_polls(runtime) == 0  # the same due poll: one job
