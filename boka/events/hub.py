"""One process's end of the broadcast channel: a single subscription to the relay's channel,
fanned out to this process's live subscribers, tenant by tenant.

Each listener has a queue, bounded unless its maxsize is 0. The hub never waits for a
listener: when a listener's queue is full, the hub empties it and leaves a single ``OVERFLOW``
mark, so a slow subscriber costs at most its queue and cannot stall the others; the
subscription then ends (see ``Listener.get``). Events seen again (a relay republishing after a
crash) are dropped by id.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import Broadcast

from boka.background import stop_task
from boka.events.relay import EVENTS_CHANNEL
from boka.observability.logging import get_logger

log = get_logger("boka.events.hub")

OVERFLOW = object()
REMEMBERED_EVENT_IDS = 10_000


class SlowConsumer(Exception):
    """The subscriber did not keep up and was dropped."""


class Listener:
    def __init__(self, tenant_id: uuid.UUID, maxsize: int, accepts: Callable[[dict[str, Any]], bool]) -> None:
        self.tenant_id = tenant_id
        self.accepts = accepts
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False

    def offer(self, item: Any) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(OVERFLOW)

    async def get(self, timeout: float | None = None) -> Any:
        """The next item; None after ``timeout`` seconds without one; SlowConsumer if the
        hub had to drop this listener."""
        try:
            async with asyncio.timeout(timeout):  # not wait_for: it can lose a cancellation (3.11)
                item = await self.queue.get()
        except TimeoutError:
            return None
        if item is OVERFLOW:
            raise SlowConsumer()
        return item


class LiveHub:
    def __init__(self, broadcast: Broadcast, *, channel: str = EVENTS_CHANNEL) -> None:
        self.broadcast = broadcast
        self.channel = channel
        self._listeners: dict[uuid.UUID, set[Listener]] = defaultdict(set)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="boka-live-hub")
        await asyncio.wait_for(self._subscribed.wait(), 10)

    async def stop(self) -> None:
        await stop_task(self._task)

    async def _listen(self) -> None:
        while True:
            try:
                async with self.broadcast.subscribe(self.channel) as subscriber:
                    self._subscribed.set()
                    async for broadcast_event in subscriber:  # type: ignore[union-attr]
                        self.dispatch(json.loads(broadcast_event.message))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live hub lost the broadcast channel; resubscribing")
                await asyncio.sleep(1)

    def dispatch(self, message: dict[str, Any]) -> None:
        event_id = message.get("id")
        if event_id in self._seen:
            return
        self._seen[event_id] = None
        if len(self._seen) > REMEMBERED_EVENT_IDS:
            self._seen.popitem(last=False)
        try:
            tenant_id = uuid.UUID(message["tenant_id"])
        except (KeyError, ValueError):
            return
        for listener in list(self._listeners.get(tenant_id, ())):
            if listener.accepts(message):
                listener.offer(message)

    def attach(self, listener: Listener) -> None:
        """Start offering ``listener`` its tenant's events it ``accepts`` (see ``listen``)."""
        self._listeners[listener.tenant_id].add(listener)

    def detach(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.tenant_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.tenant_id]

    @asynccontextmanager
    async def listen(
        self, tenant_id: uuid.UUID, *, maxsize: int, accepts: Callable[[dict[str, Any]], bool]
    ) -> AsyncIterator[Listener]:
        """A listener for the tenant's events that ``accepts``, removed when the block ends."""
        listener = Listener(tenant_id, maxsize, accepts)
        self.attach(listener)
        try:
            yield listener
        finally:
            self.detach(listener)

    def listener_count(self) -> int:
        return sum(len(group) for group in self._listeners.values())
