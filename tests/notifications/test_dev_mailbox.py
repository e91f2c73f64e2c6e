"""The dev mailbox: in the embedded mode without SMTP, messages are captured for a newcomer to
read at /dev/mailbox (links and .ics included) instead of vanishing; never in production
unless asked for."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from boka.config import Settings
from boka.jobs.notifications import notify_booking_changed
from boka.migrations import upgrade_to_head
from boka.models.tenancy import Tenant
from boka.notifications.delivery import Senders
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import set_tenant_notification_settings
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.notifications.support import book
from tests.onboarding.support import SIGN_UP, VERIFY, business
from tests.support import GraphQLClient, World

pytestmark = pytest.mark.sqlite


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[tuple[Any, Path]]:
    mailbox = tmp_path / "mailbox"
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}", redis_url=None,
                            dev_mailbox_dir=str(mailbox), public_url="http://localhost:8000")
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application, mailbox


async def test_embedded_mode_captures_mail_and_shows_it_newest_first(embedded: tuple[Any, Path]) -> None:
    app, mailbox = embedded
    runtime = app.state.runtime
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        booked = await book(gql, World(runtime))
        async with runtime.database.transaction(write=True, all_tenants=True) as db:
            tenant = await db.get(Tenant, booked.tenant.id)
            set_tenant_notification_settings(tenant, reminder_lead_minutes=[])
        await notify_booking_changed(runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)
        await runtime.jobs.drain()
        http.cookies.clear()
        assert (await gql(SIGN_UP, {"input": business()})).data["signUpBusiness"]["errors"] == []
        await runtime.jobs.drain()

        page = await http.get("/dev/mailbox")
        link = re.search(r'href="(http://localhost:8000/verify-email\?token=[^"]+)"', page.text)
        assert link, page.text
        verified = await gql(VERIFY, {"token": link.group(1).split("token=", 1)[1]})
        confirmation = re.findall(r'href="/dev/mailbox/([0-9a-f-]+)"', page.text)[-1]  # the older one
        one = await http.get(f"/dev/mailbox/{confirmation}")
        invite = await http.get(f"/dev/mailbox/{confirmation}/0")

    assert runtime.jobs.failed == []
    assert page.status_code == 200 and page.text.index("confirm your email") < page.text.index("Booking confirmed")
    assert verified.data["verifyEmail"]["verified"] is True
    assert "Booking confirmed" in one.text and "invite.ics" in one.text
    assert invite.status_code == 200 and invite.content.startswith(b"BEGIN:VCALENDAR")
    assert len(list(mailbox.glob("*.eml"))) == 2


def test_production_never_captures_unless_asked(postgres_url: str) -> None:
    production = settings_for(postgres_url)
    assert not Senders(production).configured(Channel.EMAIL)  # no SMTP: nothing sent, nothing kept
    assert not production.dev_mailbox_possible
    asked = Settings(database_url=postgres_url, dev_mailbox=True)
    assert Senders(asked).captures(Channel.SMS) and asked.dev_mailbox_possible
    with_smtp = Settings(database_url="sqlite+aiosqlite:///x.db", smtp_host="mail.example")
    assert not Senders(with_smtp).captures(Channel.EMAIL) and Senders(with_smtp).captures(Channel.SMS)


async def test_the_mailbox_page_is_not_served_in_production(http: httpx.AsyncClient) -> None:
    assert (await http.get("/dev/mailbox")).status_code == 404
