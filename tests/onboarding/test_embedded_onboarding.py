"""Embedded mode (SQLite, no Redis, in-process jobs): a business gets started through the API
alone, as on PostgreSQL: signs up (open to the public by default here), verifies its email,
invites a staff member who joins from the mailed link, and its owner resets a password."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from boka.migrations import upgrade_to_head
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.notifications.servers import SmtpServer
from tests.onboarding.support import (
    ACCEPT,
    INVITE,
    REQUEST_RESET,
    RESET,
    SIGN_UP,
    VERIFY,
    VIEWER,
    business,
    link_token,
)
from tests.support import GraphQLClient

pytestmark = pytest.mark.sqlite


@pytest.fixture
async def sqlite_app(tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[Any]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}", redis_url=None, smtp_host=smtp.host,
        smtp_port=smtp.port, smtp_security="none", public_url="https://book.example",
    )
    assert settings.public_signup is None and settings.public_signup_open  # on by default here
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_a_business_gets_started_in_embedded_mode(sqlite_app: Any, smtp: SmtpServer) -> None:
    jobs = sqlite_app.state.runtime.jobs
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        signed_up = (await gql(SIGN_UP, {"input": business()})).data["signUpBusiness"]
        assert signed_up["errors"] == []
        owner_token = signed_up["token"]
        await jobs.drain()
        verified = await gql(VERIFY, {"token": link_token(smtp, "olivia@studio.example", "/verify-email")})
        assert verified.data["verifyEmail"]["verified"] is True

        invited = await gql(INVITE, {"email": "sam@example.com", "role": "STAFF"}, token=owner_token,
                            tenant="studio-nord")
        assert invited.data["inviteMember"]["errors"] == []
        await jobs.drain()
        http.cookies.clear()
        invitation = link_token(smtp, "sam@example.com", "/accept-invitation")
        preview = await gql("query($t: String!) { invitationByToken(token: $t) { businessName role } }",
                            {"t": invitation})
        assert preview.data["invitationByToken"] == {"businessName": "Studio Nord", "role": "STAFF"}
        joined = await gql(ACCEPT, {"token": invitation, "password": "sam's new passphrase"})
        assert joined.data["acceptInvitation"]["viewer"]["role"] == "STAFF"

        await gql(REQUEST_RESET, {"email": "olivia@studio.example"})
        await jobs.drain()
        reset = await gql(RESET, {"token": link_token(smtp, "olivia@studio.example", "/reset-password"),
                                  "password": "olivia's new passphrase"})
        assert reset.data["resetPassword"] == {"passwordReset": True, "errors": []}
        ended = await gql(VIEWER, token=owner_token, tenant="studio-nord")
        assert ended.data["viewer"]["user"] is None
    assert jobs.failed == []
