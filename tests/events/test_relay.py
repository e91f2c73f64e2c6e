"""The relay and the hub in-process: order, consumers, retries, leadership, back-pressure."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from boka.events import wakeup
from boka.events.consumers import ConsumerRegistry, DeliveredEvent
from boka.events.hub import Listener, SlowConsumer
from boka.events.outbox import record_event
from boka.events.relay import Relay
from tests.events.support import events
from tests.support import World


async def _write(world: World, tenant_id: uuid.UUID, aggregates: list[uuid.UUID], count: int) -> None:
    for index in range(count):
        async with world.runtime.database.transaction(tenant_id, write=True) as db:
            await record_event(db, tenant_id=tenant_id, aggregate_type="test",
                               aggregate_id=aggregates[index % len(aggregates)],
                               type="test.happened", payload={"i": index})


async def test_consumers_get_every_event_in_order_and_progress_is_recorded(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    await _write(world, tenant.id, [uuid.uuid4(), uuid.uuid4()], 10)
    registry = ConsumerRegistry()
    seen: list[DeliveredEvent] = []

    @registry.on("test.happened")
    async def remember(event: DeliveredEvent) -> None:
        seen.append(event)

    relay = Relay(world.runtime.database, None, registry=registry)
    assert await relay.publish_pending() == 10
    assert await relay.publish_pending() == 0  # nothing twice
    written = await events(world.runtime.database)
    assert [e.id for e in seen] == [e.id for e in written]
    assert all(e.published_at is not None for e in written)


async def test_a_failing_consumer_is_retried_then_passed_over(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    await _write(world, tenant.id, [uuid.uuid4()], 2)
    registry = ConsumerRegistry()
    calls: list[int] = []

    @registry.on("*")
    async def flaky(event: DeliveredEvent) -> None:
        calls.append(event.payload["i"])
        if event.payload["i"] == 0 and calls.count(0) < 2:
            raise RuntimeError("first try fails")

    relay = Relay(world.runtime.database, None, registry=registry, poll_seconds=0.01, max_attempts=3)
    assert await relay.publish_pending() == 0  # stopped at the failure, nothing after it
    assert await relay.publish_pending() == 2
    assert calls == [0, 0, 1]


async def test_two_relays_deliver_each_event_once_in_order(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    registry = ConsumerRegistry()
    seen: list[uuid.UUID] = []

    @registry.on("*")
    async def remember(event: DeliveredEvent) -> None:
        seen.append(event.id)

    relays = [Relay(world.runtime.database, None, registry=registry, poll_seconds=0.02) for _ in range(2)]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await _write(world, tenant.id, [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()], 60)
        for _ in range(200):
            if len(seen) >= 60:
                break
            await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert seen == [e.id for e in await events(world.runtime.database)]


async def test_a_slow_listener_is_dropped_without_holding_up_the_others() -> None:
    slow = Listener(uuid.uuid4(), maxsize=3, accepts=lambda _: True)
    fast = Listener(uuid.uuid4(), maxsize=3, accepts=lambda _: True)
    received: list[int] = []
    for index in range(10):
        slow.offer(index)
        fast.offer(index)
        received.append(await fast.get())
    assert received == list(range(10))
    assert slow.queue.qsize() == 1  # its backlog was let go
    try:
        await slow.get()
    except SlowConsumer:
        pass
    else:
        raise AssertionError("the slow listener was not dropped")


async def test_a_relay_in_another_process_is_woken_by_the_commit_not_by_its_poll(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    registry = ConsumerRegistry()
    arrived = asyncio.Event()

    @registry.on("test.happened")
    async def got(event: DeliveredEvent) -> None:
        arrived.set()

    relay = Relay(world.runtime.database, None, registry=registry, poll_seconds=60)
    running = asyncio.create_task(relay.run())
    try:
        for _ in range(100):
            if relay._leader is not None:
                break
            await asyncio.sleep(0.05)
        assert relay._leader is not None
        wakeup.unwatch(relay._wake)  # as in another process: only NOTIFY can wake it now
        await asyncio.sleep(0.3)  # its first pass found nothing; it sleeps for 60 s
        await _write(world, tenant.id, [uuid.uuid4()], 1)
        await asyncio.wait_for(arrived.wait(), 5)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
