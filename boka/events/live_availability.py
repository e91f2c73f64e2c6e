"""Live availability: for each distinct (tenant, service, window, staff) that somebody in this
process watches, recompute the slots once per relevant ``availability.changed`` and fan the
result out to every watcher of that window; push only when the slots really changed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from boka.booking.availability import Slot, TimeRange
from boka.booking.slots import find_slots
from boka.db import Database
from boka.events.hub import OVERFLOW, Listener, LiveHub, SlowConsumer
from boka.events.types import AVAILABILITY_CHANGED
from boka.models.catalog import Service
from boka.models.types import utcnow
from boka.observability.logging import get_logger

log = get_logger("boka.events.live_availability")

# A change this close outside a window can still move slots inside it (a slot that starts in
# the window may end after it; buffers reach before it).
REACH = timedelta(days=1)


@dataclass(frozen=True)
class WindowKey:
    tenant_id: uuid.UUID
    service_id: uuid.UUID
    start: datetime
    end: datetime
    staff_id: uuid.UUID | None = None


def affects(message: dict[str, Any], key: WindowKey) -> bool:
    if message.get("type") != AVAILABILITY_CHANGED:
        return False
    payload = message.get("payload") or {}
    if str(key.service_id) not in payload.get("service_ids", ()):
        return False
    start, end = payload.get("start"), payload.get("end")
    if start is not None and datetime.fromisoformat(start) >= key.end + REACH:
        return False
    if end is not None and datetime.fromisoformat(end) <= key.start - REACH:
        return False
    return True


@dataclass
class _Window:
    key: WindowKey
    watchers: set[Listener] = field(default_factory=set)
    last: list[Slot] | None = None
    task: asyncio.Task[None] | None = None


class AvailabilityFeed:
    def __init__(self, hub: LiveHub, database: Database, *, queue_size: int) -> None:
        self.hub = hub
        self.database = database
        self.queue_size = queue_size
        self._windows: dict[WindowKey, _Window] = {}
        self.computations = 0  # how many times slots were computed (observability, tests)

    @asynccontextmanager
    async def watch(self, key: WindowKey) -> AsyncIterator[Listener]:
        """A listener that receives the window's slots now and whenever they change."""
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(key)
            window.task = asyncio.create_task(self._follow(window), name="boka-live-window")
        watcher = Listener(key.tenant_id, self.queue_size, accepts=lambda _: True)
        window.watchers.add(watcher)
        if window.last is not None:
            watcher.offer(window.last)
        try:
            yield watcher
        finally:
            window.watchers.discard(watcher)
            if not window.watchers and self._windows.get(key) is window:
                del self._windows[key]
                if window.task is not None:
                    window.task.cancel()

    async def _follow(self, window: _Window) -> None:
        key = window.key
        async with self.hub.listen(
            key.tenant_id, maxsize=self.queue_size, accepts=lambda m: affects(m, key)
        ) as changes:
            await self._refresh(window)
            while True:
                try:
                    await changes.get()
                except SlowConsumer:
                    pass  # changes were dropped; the recomputation below covers them all
                while not changes.queue.empty():  # several changes, one recomputation
                    changes.queue.get_nowait()
                changes.overflowed = False
                try:
                    await self._refresh(window)
                except Exception:
                    log.exception("could not recompute live availability")

    async def _refresh(self, window: _Window) -> None:
        slots = await self.compute(window.key)
        if slots != window.last:
            window.last = slots
            for watcher in list(window.watchers):
                watcher.offer(slots)

    async def compute(self, key: WindowKey) -> list[Slot]:
        self.computations += 1
        async with self.database.transaction(key.tenant_id) as db:
            service = (
                await db.execute(
                    sa.select(Service).where(
                        Service.id == key.service_id, Service.tenant_id == key.tenant_id
                    )
                )
            ).scalar_one_or_none()
            if service is None or not service.active:
                return []
            return await find_slots(
                db, service, window=TimeRange(key.start, key.end), now=utcnow(),
                staff_id=key.staff_id,
            )


__all__ = ["OVERFLOW", "AvailabilityFeed", "WindowKey", "affects"]
