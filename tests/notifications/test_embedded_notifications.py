"""Embedded mode (SQLite, no Redis): the same notification jobs run in-process and send mail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from boka.jobs.inprocess import InProcessJobQueue
from boka.jobs.notifications import notify_booking_changed
from boka.migrations import upgrade_to_head
from boka.models.tenancy import Tenant
from boka.notifications.booking_messages import send_booking_message
from boka.notifications.delivery import Outcome
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import set_tenant_notification_settings
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.notifications.servers import SmtpServer
from tests.notifications.support import book, log_rows
from tests.support import GraphQLClient, World

pytestmark = pytest.mark.sqlite


@pytest.fixture
async def sqlite_app(tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[Any]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'api.db'}", redis_url=None,
        smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
    )
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_embedded_mode_sends_the_confirmation_in_process_once(sqlite_app: Any, smtp: SmtpServer) -> None:
    runtime = sqlite_app.state.runtime
    assert isinstance(runtime.jobs, InProcessJobQueue)
    world = World(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        booked = await book(GraphQLClient(http), world)
    async with runtime.database.transaction(write=True, all_tenants=True) as db:
        tenant = await db.get(Tenant, booked.tenant.id)
        set_tenant_notification_settings(tenant, reminder_lead_minutes=[])  # nothing to wait for

    await notify_booking_changed(runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)
    await runtime.jobs.drain()
    again = await send_booking_message(runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert runtime.jobs.failed == []
    [mail] = smtp.sink.received
    assert mail.subject.startswith("Booking confirmed") and len(mail.calendar_parts()) == 2
    assert again == {Channel.EMAIL: Outcome.ALREADY_HANDLED}
    assert [row.status for row in await log_rows(world)] == ["sent"]
