"""The booking an event is about, with what decides who may see it, read once per event for
all of this process's subscribers (instead of once per subscriber): concurrent readers of one
event share one query."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict

from boka.booking.access import BookingFacts, booking_facts
from boka.db import Database

REMEMBERED = 256


class BookingSnapshots:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._reads: OrderedDict[str, asyncio.Task[BookingFacts | None]] = OrderedDict()
        self.reads = 0  # how many times the database was asked (observability, tests)

    async def for_event(self, event_id: str, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> BookingFacts | None:
        read = self._reads.get(event_id)
        if read is None:
            read = self._reads[event_id] = asyncio.create_task(self._read(tenant_id, booking_id))
            while len(self._reads) > REMEMBERED:
                self._reads.popitem(last=False)
        return await asyncio.shield(read)

    async def _read(self, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> BookingFacts | None:
        self.reads += 1
        async with self.database.transaction(tenant_id) as db:
            return await booking_facts(db, tenant_id, booking_id)
