"""Calendar feeds with the default settings: private addresses are refused as for webhooks (an IP
literal when the address is saved, a name resolving to one when polled, the refusal recorded as
the feed's error and no request made); and the embedded mode (SQLite, jobs in-process) polls a
newly attached feed by itself, so its busy time shows without a worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from boka.booking.external_calendars import poll_feed
from boka.jobs.inprocess import InProcessJobQueue
from boka.migrations import upgrade_to_head
from boka.web.app import create_app
from tests.booking.feed_server import feed_server, render
from tests.booking.support import BookingWorld, local
from tests.booking.test_external_calendars import ADD, CALENDARS, SLOTS, feed_row_id, first_monday, hourly, without
from tests.conftest import settings_for
from tests.support import GraphQLClient, World


async def test_private_addresses_are_refused_unless_allowed(gql: GraphQLClient, world: World) -> None:
    assert not world.runtime.settings.webhook_allow_private_targets
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    staff = staffed.people[0]
    with feed_server() as server:
        url = server.publish("/basic.ics", render("google", first_monday()), etag='"v1"')
        literal = await gql(ADD, {"input": {"staffMemberId": staffed.staff_id(), "url": url}},
                            token=staff.token, tenant="salon")
        [error] = literal.data["addExternalCalendar"]["errors"]
        assert (error["field"], error["code"]) == ("url", "INVALID_INPUT")

        by_name = url.replace("127.0.0.1", "localhost")
        added = await gql(ADD, {"input": {"staffMemberId": staffed.staff_id(), "url": by_name}},
                          token=staff.token, tenant="salon")
        calendar = added.data["addExternalCalendar"]["externalCalendar"]
        outcome = await poll_feed(world.runtime, feed_row_id(calendar["id"]))
        assert outcome.status == "failed"
        assert outcome.error == "refused: localhost resolves to a non-public address"
        assert server.requests == []
        shown = await gql(CALENDARS, {"id": staffed.staff_id()}, token=staff.token, tenant="salon")
        [feed] = shown.data["node"]["externalCalendars"]
        assert feed["lastError"] == outcome.error and feed["busyBlockCount"] == 0


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> Any:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'feeds.db'}", redis_url=None,
                            webhook_allow_private_targets=True)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.mark.sqlite
async def test_embedded_mode_polls_a_new_feed_in_process(sqlite_app: Any) -> None:
    runtime = sqlite_app.state.runtime
    assert isinstance(runtime.jobs, InProcessJobQueue)
    world = World(runtime)
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    staff = staffed.people[0]
    monday = first_monday()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        with feed_server() as server:
            url = server.publish("/calendar/ical/x/private-abc/basic.ics", render("google", monday), etag='"v1"')
            added = await gql(ADD, {"input": {"staffMemberId": staffed.staff_id(), "url": url}},
                              token=staff.token, tenant="salon")
            assert added.data["addExternalCalendar"]["errors"] == []
            await runtime.jobs.drain()
        assert runtime.jobs.failed == []
        slots = await gql(SLOTS, {"service": staffed.service_id, "staff": staffed.staff_id(),
                                  "from": local(monday, 0).isoformat(),
                                  "to": local(monday + timedelta(days=1), 0).isoformat()},
                          token=staff.token, tenant="salon")
        starts = {local(monday, 0).fromisoformat(s["start"]) for s in slots.data["availability"]}
        assert starts == without(hourly(monday), local(monday, 10), local(monday, 11))
