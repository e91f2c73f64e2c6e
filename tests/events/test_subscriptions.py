"""Live subscriptions over graphql-transport-ws against the ASGI app (relay in the app)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect

from boka.config import Settings
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.conftest import settings_for
from tests.events.support import (
    AVAILABILITY_CHANGED,
    BOOKING_EVENTS,
    CANCEL,
    CREATE,
    live_socket,
    next_payload,
    subscribe,
)
from tests.platform.test_tenant_administration import SUSPEND, tenant_gid
from tests.support import GraphQLClient, World

SIGN_OUT = "mutation { signOut { errors { code } } }"


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, relay_in_app=True, live_session_check_seconds=0.5)


async def _book(gql: GraphQLClient, staffed: Any, start: Any, token: str, email: str | None = None) -> str:
    variables: dict[str, Any] = {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}}
    if email:
        variables["input"]["customer"] = {"email": email}
    result = await gql(CREATE, variables, token=token, tenant="salon")
    assert result.data["createBooking"]["errors"] == [], result.data
    return result.data["createBooking"]["booking"]["id"]


async def test_managers_staff_and_customers_each_see_their_bookings_change(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(tenant, staff_count=2)
    manager = await world.person(tenant, Role.MANAGER)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    dana = await world.person(tenant, Role.CUSTOMER, email="dana@example.com")
    first_staff = staffed.people[0]
    day = future_day()

    async with (
        live_socket(app, token=manager.token) as manager_ws,
        live_socket(app, token=first_staff.token) as staff_ws,
        live_socket(app, token=dana.token) as dana_ws,
    ):
        for ws in (manager_ws, staff_ws, dana_ws):
            await subscribe(ws, "e", BOOKING_EVENTS)
        await asyncio.sleep(0.2)  # subscriptions registered
        # Carl books staff 1; Dana books staff 0 (the staff member watching).
        carl_booking = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, 10).isoformat(),
                                                     "staffId": staffed.staff_id(1)}}, token=carl.token, tenant="salon")
        assert carl_booking.data["createBooking"]["errors"] == []
        dana_booking = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, 12).isoformat(),
                                                     "staffId": staffed.staff_id(0)}}, token=dana.token, tenant="salon")
        dana_id = dana_booking.data["createBooking"]["booking"]["id"]
        await gql(CANCEL, {"input": {"id": dana_id, "reason": "busy"}}, token=dana.token, tenant="salon")

        seen_by_manager = [await next_payload(manager_ws) for _ in range(3)]
        assert [m["payload"]["data"]["bookingEvents"]["type"] for m in seen_by_manager] == [
            "booking.created", "booking.created", "booking.cancelled"
        ]
        staff_seen = [await next_payload(staff_ws) for _ in range(2)]
        dana_seen = [await next_payload(dana_ws) for _ in range(2)]
        for seen in (staff_seen, dana_seen):
            events = [m["payload"]["data"]["bookingEvents"] for m in seen]
            assert [(e["type"], e["booking"]["id"]) for e in events] == [
                ("booking.created", dana_id), ("booking.cancelled", dana_id)
            ]
            assert events[1]["status"] == "CANCELLED"
            assert events[0]["booking"]["customer"]["email"] == "dana@example.com"
            # the booking's own numbering, without gaps (availability.changed has its own)
            assert [e["sequence"] for e in events] == [1, 2]
            assert {(e["serviceName"], e["staffName"]) for e in events} == {("Haircut", "Staff 0")}
        # nothing else arrives for them (Carl's booking was not theirs)
        for ws in (staff_ws, dana_ws):
            with pytest.raises(TimeoutError):
                await next_payload(ws, timeout=0.5)


async def test_another_tenants_bookings_never_arrive(app: Any, gql: GraphQLClient, world: World) -> None:
    salon = await world.tenant("salon", time_zone="Europe/Berlin")
    other = await world.tenant("other", time_zone="Europe/Berlin")
    await BookingWorld(world).staffed_service(salon)
    staffed_other = await BookingWorld(world).staffed_service(other)
    manager = await world.person(salon, Role.MANAGER)
    other_owner = await world.person(other, Role.OWNER)
    async with live_socket(app, token=manager.token) as ws:
        await subscribe(ws, "e", BOOKING_EVENTS)
        await asyncio.sleep(0.2)
        result = await gql(CREATE, {"input": {"serviceId": staffed_other.service_id,
                                              "start": local(future_day(), 10).isoformat(),
                                              "customer": {"email": "x@example.com"}}},
                           token=other_owner.token, tenant="other")
        assert result.data["createBooking"]["errors"] == []
        with pytest.raises(TimeoutError):
            await next_payload(ws, timeout=1)


async def test_availability_pushes_fresh_slots_once_per_change_for_all_watchers(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    variables = {"service": staffed.service_id, "from": local(day, 0).isoformat(), "to": local(day, 23, 59).isoformat()}
    feed = app.state.runtime.live.availability

    async with live_socket(app) as first, live_socket(app) as second:
        for ws in (first, second):
            await subscribe(ws, "a", AVAILABILITY_CHANGED, variables)
        initial = [await next_payload(ws) for ws in (first, second)]
        starts = [s["start"] for s in initial[0]["payload"]["data"]["availabilityChanged"]]
        assert local(day, 10).isoformat() in starts
        assert initial[0] == initial[1]
        computed = feed.computations

        await _book(gql, staffed, local(day, 10), owner.token, "x@example.com")

        pushed = [await next_payload(ws) for ws in (first, second)]
        after = [s["start"] for s in pushed[0]["payload"]["data"]["availabilityChanged"]]
        assert pushed[0] == pushed[1]
        assert set(starts) - set(after) == {local(day, h, m).isoformat() for h, m in ((9, 30), (10, 0), (10, 30))}
        assert feed.computations == computed + 1  # once for both watchers


async def test_a_change_elsewhere_pushes_nothing(app: Any, gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    other = await BookingWorld(world).staffed_service(tenant, name="Massage")
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    variables = {"service": staffed.service_id, "from": local(day, 0).isoformat(), "to": local(day, 23, 59).isoformat()}
    async with live_socket(app) as ws:
        await subscribe(ws, "a", AVAILABILITY_CHANGED, variables)
        await next_payload(ws)  # the current slots
        await _book(gql, other, local(day, 10), owner.token, "x@example.com")  # other staff, other service
        await _book(gql, staffed, local(day + __import__("datetime").timedelta(days=5), 10), owner.token, "y@example.com")
        with pytest.raises(TimeoutError):
            await next_payload(ws, timeout=1)


async def test_a_revoked_session_closes_the_socket(app: Any, gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    await BookingWorld(world).staffed_service(tenant)
    manager = await world.person(tenant, Role.MANAGER)
    async with live_socket(app, token=manager.token) as ws:
        await subscribe(ws, "e", BOOKING_EVENTS)
        await asyncio.sleep(0.2)
        signed_out = await gql(SIGN_OUT, token=manager.token, tenant="salon")
        assert not signed_out.errors
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(10):
                await next_payload(ws, timeout=5)
    assert closed.value.code == 4401


async def test_suspending_the_tenant_closes_its_open_subscriptions(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    """A suspension reaches sockets already open, not only new ones: the next session check
    closes them with 4403 TENANT_SUSPENDED, a staff member's and an anonymous watcher's alike."""
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    manager = await world.person(tenant, Role.MANAGER)
    admin = await world.person(None, None, superadmin=True)
    day = future_day()
    variables = {"service": staffed.service_id, "from": local(day, 0).isoformat(), "to": local(day, 23, 59).isoformat()}
    closes = []
    async with live_socket(app, token=manager.token) as staff_ws, live_socket(app) as guest_ws:
        await subscribe(staff_ws, "e", BOOKING_EVENTS)
        await subscribe(guest_ws, "a", AVAILABILITY_CHANGED, variables)
        await next_payload(guest_ws)  # the current slots
        await asyncio.sleep(0.6)  # an anonymous socket's check is not a session ending: it stays
        suspended = await gql(SUSPEND, {"id": tenant_gid(tenant.id), "reason": "unpaid invoices"},
                              token=admin.token)
        assert suspended.data["suspendTenant"]["errors"] == []
        for ws in (staff_ws, guest_ws):
            with pytest.raises(WebSocketDisconnect) as closed:
                for _ in range(10):
                    await next_payload(ws, timeout=5)
            closes.append((closed.value.code, closed.value.reason))
    assert closes == [(4403, "TENANT_SUSPENDED")] * 2
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, 10).isoformat()}},
                       token=manager.token, tenant="salon")
    assert booked.error_codes == ["TENANT_SUSPENDED"]


async def test_staff_cannot_watch_another_tenant_or_anonymous_booking_events(app: Any, world: World) -> None:
    await world.tenant("salon")
    async with live_socket(app) as ws:
        await subscribe(ws, "e", BOOKING_EVENTS)
        message = await next_payload(ws)
    assert message["type"] in ("error", "next")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_gid_helper_matches_relay_ids() -> None:
    assert gid("Service", "x")
