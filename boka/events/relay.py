"""The relay: publishes committed outbox events, in order, to the broadcast channel and to the
in-process consumers, then marks them published.

- Order: unpublished events go out by outbox position. Events of one aggregate take their
  sequence numbers under a row lock, so they also commit in that order; per-aggregate order
  therefore holds even though positions of different aggregates may commit out of order (an
  event committed late is simply published on the next pass, never skipped: progress is a
  per-row ``published_at``, not a high-water mark).
- At least once: an event is marked only after it was published and every consumer returned;
  a relay killed in between publishes it again when it (or another) restarts. Subscribers'
  hubs and consumers deduplicate by event id.
- Several relays (app processes, workers): on PostgreSQL only the holder of a session-level
  advisory lock publishes; the others stand by and take over when its connection goes away.
  SQLite (embedded) has one process, hence one relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import sqlalchemy as sa
from broadcaster import Broadcast
from sqlalchemy.ext.asyncio import AsyncConnection

from boka.db import Database
from boka.events import wakeup
from boka.events.consumers import ConsumerRegistry, DeliveredEvent, consumers
from boka.events.outbox import as_message, unpublished
from boka.models.events import Event
from boka.models.types import utcnow
from boka.observability import tracing
from boka.observability.logging import get_logger
from boka.observability.metrics import RELAY_LAG

EVENTS_CHANNEL = "boka.events"
# pg_try_advisory_lock key of the relay leader: any constant shared by all processes.
RELAY_LOCK_KEY = 0x626F6B61_72656C  # "boka" "rel"

# How often a relay that does not lead tries to take over (the leader's death is noticed
# within this time).
STANDBY_SECONDS = 1.0

log = get_logger("boka.events.relay")


class Relay:
    def __init__(
        self,
        database: Database,
        broadcast: Broadcast | None,
        *,
        channel: str = EVENTS_CHANNEL,
        registry: ConsumerRegistry = consumers,
        batch_size: int = 200,
        poll_seconds: float = 0.1,
        max_attempts: int = 5,
    ) -> None:
        self.database = database
        self.broadcast = broadcast
        self.channel = channel
        self.registry = registry
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self._leader: AsyncConnection | None = None
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Publish until cancelled."""
        wakeup.watch(self._wake)
        try:
            while True:
                published = 0
                try:
                    if await self._lead():
                        published = await self.publish_pending()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database or broadcast is away: keep trying
                    log.exception("relay pass failed")
                    await self._step_down()
                    await asyncio.sleep(min(1.0, self.poll_seconds * 10))
                if self._leader is None and not self.database.is_sqlite:
                    await self._sleep(STANDBY_SECONDS)  # another relay leads; check back
                elif published < self.batch_size:
                    await self._sleep(self.poll_seconds)
        finally:
            wakeup.unwatch(self._wake)
            await self._step_down()

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation that arrives
        # as the wake-up does, and the relay then outlived its app's shutdown.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def _lead(self) -> bool:
        """True if this relay may publish: it holds (or just took) the leader lock."""
        if self.database.is_sqlite:
            return True
        if self._leader is not None:
            try:
                await self._leader.execute(sa.text("SELECT 1"))
                await self._leader.commit()
                return True
            except Exception:
                await self._step_down()
                raise
        connection = await self.database.engine.connect()
        try:
            got = (
                await connection.execute(
                    sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": RELAY_LOCK_KEY}
                )
            ).scalar_one()
            await connection.commit()  # the lock is the session's; no transaction left open
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self._leader = connection
        await self._listen_for_commits(connection)
        log.info("relay leads")
        return True

    async def _listen_for_commits(self, connection: AsyncConnection) -> None:
        """Wake on every commit that wrote events, whichever process made it (wakeup.py)."""
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if hasattr(driver, "add_listener"):  # asyncpg
            await driver.add_listener(wakeup.OUTBOX_CHANNEL, lambda *_: self._wake.set())

    async def _step_down(self) -> None:
        """Give up the lead. The connection is discarded, not returned to the pool: the lock
        belongs to its database session, which must end for another relay to take over."""
        leader, self._leader = self._leader, None
        if leader is not None:
            try:
                await leader.invalidate()
            finally:
                await leader.close()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; the number handed out."""
        async with self.database.transaction(all_tenants=True) as db:
            events = list((await db.execute(unpublished(self.batch_size))).scalars())
        oldest = events[0].occurred_at if events else None
        RELAY_LAG.set(0 if oldest is None else max((utcnow() - oldest).total_seconds(), 0))
        done: list[int] = []
        try:
            for event in events:
                if not await self._deliver(event):
                    break
                done.append(event.position)  # type: ignore[arg-type]
        finally:
            await self._mark_published(done)
        return len(done)

    async def _deliver(self, event: Event) -> bool:
        """Publish one event; False if a consumer failed and it should be tried again."""
        if tracing.ENABLED:
            with tracing.entry_span(
                f"event {event.type}", kind="consumer", traceparent=event.trace,
                attributes={"boka.event.id": str(event.id), "boka.event.type": event.type,
                            "boka.tenant.id": str(event.tenant_id)},
            ) as span:
                delivered = await self._deliver_now(event)
                if not delivered:
                    tracing.set_error(span, "a consumer failed")
                return delivered
        return await self._deliver_now(event)

    async def _deliver_now(self, event: Event) -> bool:
        message = as_message(event)
        if self.broadcast is not None:
            await self.broadcast.publish(self.channel, json.dumps(message))
        delivered = DeliveredEvent.from_message(message)
        for handler in self.registry.handlers_for(event.type):
            try:
                await handler(delivered)
            except Exception:
                return await self._consumer_failed(event, handler)
        return True

    async def _consumer_failed(self, event: Event, handler: Any) -> bool:
        attempts = event.attempts + 1
        name = getattr(handler, "__qualname__", repr(handler))
        async with self.database.transaction(all_tenants=True, write=True) as db:
            await db.execute(sa.update(Event).where(Event.position == event.position).values(attempts=attempts))
        if attempts >= self.max_attempts:
            log.exception(
                "event consumer failed for good; the event is passed over",
                event_id=str(event.id), event_type=event.type, consumer=name, attempts=attempts,
            )
            return True
        log.warning(
            "event consumer failed; retrying", event_id=str(event.id), event_type=event.type,
            consumer=name, attempts=attempts, exc_info=True,
        )
        # Later events wait behind this one (order), so back off before the next try.
        await asyncio.sleep(min(30.0, self.poll_seconds * 2**attempts))
        return False

    async def _mark_published(self, positions: list[int]) -> None:
        if not positions:
            return
        async with self.database.transaction(all_tenants=True, write=True) as db:
            await db.execute(
                sa.update(Event).where(Event.position.in_(positions)).values(published_at=utcnow())
            )
