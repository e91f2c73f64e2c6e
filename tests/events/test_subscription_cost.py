"""Subscriptions meet the same query cost limit as queries (issue 12): a live availability
window is recomputed on every change, so a long one is refused before it subscribes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from boka.config import Settings
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import settings_for
from tests.events.support import AVAILABILITY_CHANGED, live_socket, next_payload, subscribe
from tests.support import GraphQLClient, World


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # a 62-day window costs 62 x 50 units: past this limit; two days (100 units) are not
    return settings_for(postgres_url, relay_in_app=True, query_max_cost=2_000)


async def test_a_costly_subscription_is_refused_and_a_cheap_one_is_taken(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    day = future_day()
    window = {"service": staffed.service_id, "from": local(day, 0).isoformat()}
    long_window = {**window, "to": local(day + timedelta(days=62), 0).isoformat()}
    short_window = {**window, "to": local(day + timedelta(days=2), 0).isoformat()}

    async with live_socket(app) as ws:
        await subscribe(ws, "long", AVAILABILITY_CHANGED, long_window)
        refused = await next_payload(ws)
        # bounds in variables are priced at the longest window allowed; written out, as asked
        await subscribe(ws, "short", 'subscription { availabilityChanged(serviceId: "%s", '
                        'from: "%s", to: "%s") { start } }' % (
                            staffed.service_id, short_window["from"], short_window["to"]))
        taken = await next_payload(ws)  # the window's slots as they are now

    assert refused["type"] == "error" and refused["id"] == "long", refused
    assert "limit is 2,000" in refused["payload"][0]["message"]
    assert taken["type"] == "next" and taken["id"] == "short", taken
    assert "errors" not in taken["payload"] and taken["payload"]["data"]["availabilityChanged"]
    over_http = await gql("query Slots($service: ID!, $from: DateTime!, $to: DateTime!) { "
                          "availability(serviceId: $service, from: $from, to: $to) { start } }",
                          long_window, tenant="salon")
    assert over_http.error_codes == ["VALIDATION_ERROR"] and "limit is 2,000" in over_http.errors[0]["message"]
