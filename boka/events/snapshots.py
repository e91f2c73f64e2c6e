"""The booking an event is about, read once per event for all of this process's subscribers
(instead of once per subscriber): concurrent readers of one event share one query."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict

import sqlalchemy as sa

from boka.db import Database
from boka.models.bookings import Booking

REMEMBERED = 256


class BookingSnapshots:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._reads: OrderedDict[str, asyncio.Task[Booking | None]] = OrderedDict()

    async def for_event(self, event_id: str, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> Booking | None:
        read = self._reads.get(event_id)
        if read is None:
            read = self._reads[event_id] = asyncio.create_task(self._read(tenant_id, booking_id))
            while len(self._reads) > REMEMBERED:
                self._reads.popitem(last=False)
        return await asyncio.shield(read)

    async def _read(self, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> Booking | None:
        async with self.database.transaction(tenant_id) as db:
            statement = sa.select(Booking).where(Booking.id == booking_id, Booking.tenant_id == tenant_id)
            return (await db.execute(statement)).scalar_one_or_none()
