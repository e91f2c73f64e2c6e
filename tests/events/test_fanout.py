"""The booking-events fan-out: once per event and audience, never waiting for a subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest

from boka.config import Settings
from boka.identity.memberships import find_membership
from boka.models.tenancy import Role
from boka.schema.root import build_schema
from boka.web.live_socket import LiveSocketHandler, SocketWriter
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import settings_for
from tests.events.support import BOOKING_EVENTS, CREATE, live_socket, next_payload, subscribe
from tests.support import GraphQLClient, World


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, relay_in_app=True, live_session_check_seconds=0.5)


def _event(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "next", message
    return message["payload"]["data"]["bookingEvents"]


async def test_an_event_is_read_once_and_rendered_once_per_audience(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, staff_count=2)
    managers = [await world.person(tenant, Role.MANAGER) for _ in range(2)]
    owner = await world.person(tenant, Role.OWNER)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    live = app.state.runtime.live

    async with contextlib.AsyncExitStack() as stack:
        tokens = [managers[0].token, managers[0].token, managers[1].token, owner.token,
                  staffed.people[0].token, carl.token]
        sockets = [await stack.enter_async_context(live_socket(app, token=token)) for token in tokens]
        for ws in sockets:
            await subscribe(ws, "e", BOOKING_EVENTS)
        await asyncio.sleep(0.2)
        assert live.booking_events.subscriber_count() == 6
        reads, renders = live.bookings.reads, live.booking_events.renders
        result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                                              "staffId": staffed.staff_id(0)}}, token=carl.token, tenant="salon")
        booking_id = result.data["createBooking"]["booking"]["id"]
        received = [await next_payload(ws) for ws in sockets]
        assert {_event(m)["booking"]["id"] for m in received} == {booking_id}
        # one read; one rendering for the managers, one for the owner (other grants), one
        # each for staff 0 and Carl
        assert live.bookings.reads == reads + 1
        assert live.booking_events.renders == renders + 4
        assert len({json.dumps(m["payload"]) for m in received[:4]}) == 1


async def test_completing_or_leaving_ends_the_subscription_in_the_fanout(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    manager = await world.person(tenant, Role.MANAGER)
    fanout = app.state.runtime.live.booking_events
    async with live_socket(app, token=manager.token) as ws:
        await subscribe(ws, "a", BOOKING_EVENTS)
        await subscribe(ws, "b", BOOKING_EVENTS)
        await asyncio.sleep(0.2)
        assert fanout.subscriber_count() == 2
        await ws.send_json({"type": "complete", "id": "a"})
        await asyncio.sleep(0.2)
        assert fanout.subscriber_count() == 1
        await subscribe(ws, "b", BOOKING_EVENTS)  # still running: its id is taken (4409)
        with pytest.raises(Exception):  # noqa: B017,PT011 - closed by the server
            await next_payload(ws, timeout=2)
    await asyncio.sleep(0.2)
    assert fanout.subscriber_count() == 0


async def test_a_manager_made_staff_sees_only_their_assigned_bookings_from_the_next_check(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, staff_count=2)
    manager = await world.person(tenant, Role.MANAGER)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()

    async def book(hour: int, staff: int) -> str:
        result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, hour).isoformat(),
                                              "staffId": staffed.staff_id(staff),
                                              "customer": {"email": f"c{hour}@example.com"}}},
                           token=owner.token, tenant="salon")
        return result.data["createBooking"]["booking"]["id"]

    async with live_socket(app, token=manager.token) as ws:
        await subscribe(ws, "e", BOOKING_EVENTS)
        await asyncio.sleep(0.2)
        first = await book(10, 1)
        assert _event(await next_payload(ws))["booking"]["id"] == first
        async with world.runtime.database.transaction(tenant.id, write=True) as db:
            membership = await find_membership(db, tenant_id=tenant.id, user_id=manager.user.id)
            assert membership is not None
            membership.role = Role.STAFF
        await asyncio.sleep(1.5)  # the connection's session check (every 0.5 s here)
        await book(12, 1)  # not theirs: they are no staff member of this service
        with pytest.raises(TimeoutError):
            await next_payload(ws, timeout=1.5)


def test_boka_schema_extensions_have_no_resolve_hooks(settings: Settings) -> None:
    """live_render.py executes events without Strawberry's per-field middleware; that is only
    right while no schema extension hooks into resolving."""
    schema = build_schema(settings)
    assert not [ext for ext in schema.get_extensions() if ext._implements_resolve()]


# --- the socket writer: a slow client never holds up the fan-out ---------------------------

class _Socket:
    """A fake ASGI send: writes at once, or waits while ``stalled``."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.open = asyncio.Event()
        self.open.set()

    async def send(self, text: str) -> None:
        await self.open.wait()
        self.written.append(text)


async def test_a_stalled_socket_queues_in_order_while_the_others_are_written_at_once() -> None:
    fast, slow = _Socket(), _Socket()
    slow.open.clear()
    overflowed: list[str] = []
    writers = [SocketWriter(fast.send, 3, lambda: overflowed.append("fast")),
               SocketWriter(slow.send, 3, lambda: overflowed.append("slow"))]
    for frame in ("1", "2", "3"):
        for writer in writers:
            writer.write(frame)
    assert fast.written == ["1", "2", "3"]  # synchronously, no task and no wait
    assert slow.written == [] and writers[1].backlog == 2
    slow.open.set()
    await asyncio.sleep(0.01)
    assert slow.written == ["1", "2", "3"] and writers[1].backlog == 0
    assert overflowed == []


async def test_a_socket_too_far_behind_overflows_once_its_queue_is_full() -> None:
    slow = _Socket()
    slow.open.clear()
    overflowed: list[int] = []
    writer = SocketWriter(slow.send, 2, lambda: overflowed.append(writer.backlog))
    for frame in ("1", "2", "3", "4"):
        writer.write(frame)
    assert overflowed == [0]  # its queue emptied: the handler ends its subscriptions
    writer.write("error")
    slow.open.set()
    await asyncio.sleep(0.01)
    assert slow.written == ["1", "error"]


class _Operation:
    def __init__(self, operation_id: str) -> None:
        self.id = operation_id
        self.variables = None


class _Running:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def principal_changed(self, principal: Any) -> None:
        pass


async def test_a_slow_connection_gets_slow_consumer_and_complete_for_each_handed_over_subscription(
    settings: Settings,
) -> None:
    sent: list[str] = []
    stalled = asyncio.Event()

    class Request:
        async def send(self, message: dict[str, Any]) -> None:
            await stalled.wait()
            sent.append(message["text"])

    class Runtime:
        pass

    runtime = Runtime()
    runtime.settings = settings.model_copy(update={"live_queue_size": 2})  # type: ignore[attr-defined]

    class Context:
        request = Request()
        credentials = None

    Context.runtime = runtime  # type: ignore[attr-defined]
    from datetime import timedelta

    handler = LiveSocketHandler(None, None, Context(), None, build_schema(settings), timedelta(seconds=10))
    running = {}
    for operation_id in ("a", "b"):
        running[operation_id] = _Running()
        handler.operations[operation_id] = _Operation(operation_id)  # type: ignore[assignment]
        handler.take(_Operation(operation_id), lambda deliver, fail, r=running[operation_id]: r)  # type: ignore[arg-type, misc]
    from boka.resolvers.live_handoff import Rendered

    for _ in range(4):  # one waits for the socket, two queue, the fourth is one too many
        for live in list(handler.live.values()):
            live.deliver(Rendered('{"data":{}}'))
    assert handler.live == {} and handler.operations == {}
    assert all(r.cancelled for r in running.values())
    stalled.set()
    await asyncio.sleep(0.01)
    messages = [json.loads(text) for text in sent]
    assert messages[0]["type"] == "next" and messages[0]["payload"] == {"data": {}}
    endings = messages[1:]
    for operation_id in ("a", "b"):
        mine = [m for m in endings if m["id"] == operation_id]
        assert [m["type"] for m in mine] == ["next", "complete"]
        assert mine[0]["payload"]["errors"][0]["extensions"]["code"] == "SLOW_CONSUMER"
