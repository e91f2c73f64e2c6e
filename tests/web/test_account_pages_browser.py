"""The pages behind the links in account mails, in real headless Chromium on the real app over
TCP (PostgreSQL under row level security, mail to a real local SMTP server, jobs in the
process): a business signs up and opens its verification link, invites a staff member who joins
from the mailed link (and, with that account, joins a second business), and its owner, with two-factor on, resets the password from the mailed
link. Every link is taken from the mail as sent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import _truncate_all, settings_for
from tests.identity.security_support import ENABLE, ENROLL, SIGN_IN, code_at
from tests.notifications.servers import SmtpServer
from tests.onboarding.support import INVITE, OWNER_PASSWORD, REQUEST_RESET, SIGN_UP, business
from tests.support import GraphQLClient
from tests.web.browser import NO_CHROMIUM, chromium, chromium_missing, live_server, page_errors, screenshot

pytestmark = pytest.mark.skipif(chromium_missing(), reason=NO_CHROMIUM)

OWNER = "olivia@studio.example"
NEW_PASSWORD = "olivia's brand new passphrase"


@pytest.fixture
def server(postgres_url: str, smtp: SmtpServer) -> Iterator[tuple[str, Any]]:
    settings = settings_for(
        postgres_url, redis_url=None, relay_in_app=True, smtp_host=smtp.host, smtp_port=smtp.port,
        smtp_security="none", public_signup=True, rate_limit_auth_per_minute=50,
    )
    with live_server(settings) as base:
        yield base, settings


@pytest.fixture
async def browser(server: tuple[str, Any]) -> AsyncIterator[Any]:
    async with chromium() as browser:
        yield browser
    await _truncate_all(server[1])


async def mailed_link(smtp: SmtpServer, address: str, path: str, count: int) -> str:
    """The link to ``path`` in the ``count``-th mail to ``address`` (the jobs send it soon)."""
    for _ in range(200):
        mails = smtp.sink.to(address)
        if len(mails) >= count:
            found = re.search(rf"(http://127\.0\.0\.1:\d+{path}\?token=\S+)", mails[count - 1].text)
            assert found, mails[count - 1].text
            return found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail {count} to {address}")


async def test_the_mailed_links_verify_join_the_team_and_reset_a_password(
    server: tuple[str, Any], browser: Any, smtp: SmtpServer
) -> None:
    base, _ = server
    async with httpx.AsyncClient(base_url=base) as http:
        gql = GraphQLClient(http)
        signed_up = (await gql(SIGN_UP, {"input": business()})).data["signUpBusiness"]
        assert signed_up["errors"] == []
        owner_token = signed_up["token"]
        invited = await gql(INVITE, {"email": "sam@example.com", "role": "STAFF"}, token=owner_token,
                            tenant="studio-nord")
        assert invited.data["inviteMember"]["errors"] == []
        verify_link = await mailed_link(smtp, OWNER, "/verify-email", 1)
        invitation_link = await mailed_link(smtp, "sam@example.com", "/accept-invitation", 1)

        page = await browser.new_page(locale="en-US")
        errors = page_errors(page)

        # Verify: at once, and the same link again explains itself and offers a new one.
        await page.goto(verify_link)
        await page.get_by_text("Thank you: your email address is confirmed.").wait_for()
        await screenshot(page, "verify-email")
        await page.goto(verify_link)
        await page.get_by_text("This link has expired or was used already.").wait_for()
        await page.get_by_role("button", name="Send me a new link").click()
        await page.get_by_text("Sign in first, then ask for a new link.").wait_for()

        # Accept the invitation: the business and the role, then a name and a password.
        await page.goto(invitation_link)
        await page.get_by_text("Studio Nord invites sam@example.com to join its team as staff.").wait_for()
        await page.get_by_role("heading", name="Studio Nord").wait_for()
        await screenshot(page, "accept-invitation")
        await page.get_by_label("Your name").fill("Sam Staff")
        await page.get_by_label("Choose a password").fill("short")
        await page.get_by_role("button", name="Join the team").click()
        await page.get_by_text("Please choose a password of at least 10 characters.").wait_for()
        await page.get_by_label("Choose a password").fill("sam's new passphrase")
        await page.get_by_role("button", name="Join the team").click()
        await page.get_by_text("Welcome! You have joined Studio Nord as staff.").wait_for()
        sam = (await gql(SIGN_IN, {"email": "sam@example.com", "password": "sam's new passphrase"})).data["signIn"]
        assert sam["errors"] == [] and sam["token"]
        await page.goto(invitation_link)  # used: nothing to fill in
        await page.get_by_text("This link has expired or was used already.").wait_for()
        assert not await page.get_by_label("Choose a password").is_visible()

        # An account holder joins a second business as the account signed in in the browser.
        http.cookies.clear()
        other = (await gql(SIGN_UP, {"input": business("Salon Süd", owner={
            "email": "max@sued.example", "password": "max's long passphrase", "firstName": "Max",
            "lastName": "Owner"})})).data["signUpBusiness"]
        assert other["errors"] == []
        await gql(INVITE, {"email": "sam@example.com", "role": "MANAGER"}, token=other["token"],
                  tenant=other["tenant"]["slug"])
        second_invitation = await mailed_link(smtp, "sam@example.com", "/accept-invitation", 2)
        elsewhere = await browser.new_page(locale="en-US")  # a browser not signed in (joining signed this one in)
        await elsewhere.goto(second_invitation)
        await elsewhere.get_by_text("Salon Süd invites sam@example.com to join its team as manager.").wait_for()
        assert not await elsewhere.get_by_label("Choose a password").is_visible()
        await elsewhere.get_by_role("button", name="Join the team").click()
        await elsewhere.get_by_text("An account with this address exists: sign in first").wait_for()
        signed_in = await elsewhere.request.post(f"{base}/graphql", data={
            "query": SIGN_IN, "variables": {"email": "sam@example.com", "password": "sam's new passphrase"}})
        assert (await signed_in.json())["data"]["signIn"]["errors"] == []  # the session cookie is set
        await elsewhere.get_by_role("button", name="Join the team").click()
        await elsewhere.get_by_text("Welcome! You have joined Salon Süd as manager.").wait_for()
        await elsewhere.close()

        # Reset with two-factor on: the code field appears when the API asks for it.
        secret = (await gql(ENROLL, token=owner_token)).data["enrollMfa"]["secret"]
        enabled = (await gql(ENABLE, {"code": code_at(secret)}, token=owner_token)).data["enableMfa"]
        assert enabled["errors"] == []
        await gql(REQUEST_RESET, {"email": OWNER})
        reset_link = await mailed_link(smtp, OWNER, "/reset-password", 2)

        await page.goto(reset_link.replace("/reset-password?", "/reset-password?lang=de&"))
        await page.get_by_role("heading", name="Neues Passwort wählen").wait_for()
        await page.get_by_label("Sprache").select_option("en")
        await page.get_by_label("New password").fill(NEW_PASSWORD)
        assert not await page.get_by_label("Code from your authenticator app").is_visible()
        await page.get_by_role("button", name="Save the new password").click()
        await page.get_by_text("This account has two-step sign-in").wait_for()
        await page.get_by_label("Code from your authenticator app").fill("not-a-code")
        await page.get_by_role("button", name="Save the new password").click()
        await page.get_by_text("That code is not right.").wait_for()
        await page.get_by_label("Code from your authenticator app").fill(enabled["backupCodes"][0])
        await page.get_by_role("button", name="Save the new password").click()
        await page.get_by_text("Your password is changed.").wait_for()
        await screenshot(page, "reset-password")

        old = (await gql(SIGN_IN, {"email": OWNER, "password": OWNER_PASSWORD})).data["signIn"]
        new = (await gql(SIGN_IN, {"email": OWNER, "password": NEW_PASSWORD})).data["signIn"]
        assert old["errors"][0]["code"] == "INVALID_CREDENTIALS"
        assert new["errors"] == [] and new["mfaChallenge"] is not None  # two-factor stays on
        assert errors == []
