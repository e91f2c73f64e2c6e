"""One read transaction per request, shared by its read fields and DataLoader batches.

Before, every field and every loader batch opened a transaction of its own: a connection from
the pool, ``set_config`` for the tenant, the query, the commit; for a page of bookings with
their customer, service and staff that was 13 statements on up to 5 connections at once (issue
10), and under load the pool ran dry in the middle of a response (issue 12's ghost bookings).
Now the first read opens one transaction per tenant scope and the rest reuse it, one statement
at a time (a connection runs one query at a time anyway); it ends with the operation.

A statement that fails leaves the transaction unusable (PostgreSQL aborts it): it is closed
then, and the next read opens a fresh one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database


class SharedReads:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = asyncio.Lock()
        self._open: dict[uuid.UUID | None, tuple[AbstractAsyncContextManager[AsyncSession], AsyncSession]] = {}

    @asynccontextmanager
    async def transaction(self, tenant_id: uuid.UUID | None) -> AsyncIterator[AsyncSession]:
        async with self._lock:
            entry = self._open.get(tenant_id)
            if entry is None:
                opening = self._database.transaction(tenant_id)
                entry = self._open[tenant_id] = (opening, await opening.__aenter__())
            try:
                yield entry[1]
            except BaseException as error:
                del self._open[tenant_id]
                await entry[0].__aexit__(type(error), error, error.__traceback__)
                raise

    async def close(self) -> None:
        """End every transaction this request opened (reads only: nothing to keep)."""
        async with self._lock:
            opened, self._open = list(self._open.values()), {}
        for opening, _ in opened:
            await opening.__aexit__(None, None, None)
