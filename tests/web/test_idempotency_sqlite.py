"""Idempotency keys on the embedded SQLite database: one writer at a time, no row level
security, datetimes as text; the same guarantees as on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.idempotency import KeyOwner
from boka.jobs.context import bind_runtime, unbind_runtime
from boka.jobs.scheduled import sweep_idempotency_keys
from boka.migrations import upgrade_to_head
from boka.models.bookings import Booking
from boka.models.idempotency import IdempotencyKey
from boka.models.tenancy import Role
from boka.models.types import utcnow
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.support import World
from tests.web.test_idempotency import BOOK, booking, code, count, guest, post, salon

pytestmark = pytest.mark.sqlite


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[Any]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'idem.db'}", redis_url=None)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_concurrent_retries_book_once_replays_refuse_and_sweep_on_sqlite(sqlite_app: Any) -> None:
    world = World(sqlite_app.state.runtime)
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        responses = await asyncio.gather(
            *(post(http, BOOK, booking(staffed), key="k", token=customer.token) for _ in range(50))
        )
        reused = await post(http, BOOK, booking(staffed, 11), key="k", token=customer.token)
        as_guest = await post(http, BOOK, guest(staffed), key="k")
        # (a start that is no time: since holds, a missing start is a user error, not a validation one)
        invalid = await post(http, BOOK, {"input": {"serviceId": staffed.service_id, "start": "not a time"}},
                             key="v", token=customer.token)

    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["data"]["createBooking"]["errors"] == []
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert reused.status_code == 422 and code(reused) == "IDEMPOTENCY_KEY_REUSED"
    assert as_guest.json()["data"]["createBooking"]["errors"] == []  # another principal
    assert code(invalid) == "VALIDATION_ERROR"
    assert await count(world, Booking) == 2
    assert await count(world, IdempotencyKey) == 2  # nothing kept for the invalid request

    async with world.runtime.database.transaction(write=True) as db:
        await db.execute(
            sa.update(IdempotencyKey)
            .where(IdempotencyKey.id == KeyOwner(tenant.id, f"user:{customer.user.id}").row_id("k"))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    token = bind_runtime(world.runtime)
    try:
        assert await sweep_idempotency_keys() == 1
    finally:
        unbind_runtime(token)
    assert await count(world, IdempotencyKey) == 1
