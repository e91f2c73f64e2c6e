"""Embedded mode (SQLite, no Redis): the waitlist's consumer and jobs run in-process, and a
cancelled hour reaches the first in line as an email with its claim link, which claims it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from boka.migrations import upgrade_to_head
from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.booking.waitlist_support import CLAIM, cancel_the_booking, join, salon_with_a_full_morning
from tests.conftest import settings_for
from tests.notifications.servers import SmtpServer
from tests.support import GraphQLClient, World

pytestmark = pytest.mark.sqlite


@pytest.fixture
async def sqlite_app(tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[Any]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'api.db'}", redis_url=None,
        smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
        public_url="https://book.salon.example",
    )
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_embedded_mode_offers_a_cancelled_hour_and_the_link_claims_it(sqlite_app: Any, smtp: SmtpServer) -> None:
    runtime = sqlite_app.state.runtime
    world = World(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        salon = await salon_with_a_full_morning(gql, world)
        ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
        assert (await join(gql, salon, token=ann.token))["errors"] == []
        await cancel_the_booking(gql, salon)

        deadline = time.monotonic() + 30
        while not any(m.subject.startswith("A time opened up") for m in smtp.sink.to("ann@example.com")):
            assert time.monotonic() < deadline, "no offer mail"
            await asyncio.sleep(0.1)
        [mail] = [m for m in smtp.sink.to("ann@example.com") if m.subject.startswith("A time opened up")]
        token = re.search(r"/waitlist/offer/(wlo_[A-Za-z0-9_.-]+)\?tenant=salon", mail.text).group(1)  # type: ignore[union-attr]
        claimed = await gql(CLAIM, {"input": {"token": token}}, tenant="salon")

    assert claimed.data["claimWaitlistOffer"]["booking"]["status"] == "CONFIRMED", claimed.body
    assert runtime.jobs.failed == []
