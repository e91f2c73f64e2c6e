"""The pages behind the mailed account links with JavaScript OFF, in real headless Chromium on
the real app over TCP (PostgreSQL, mail to a real local SMTP server): each shows a plain HTML form
that posts back and is handled server-side. Opening a link alone changes nothing; a post from
another site is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import _truncate_all, settings_for
from tests.identity.security_support import SIGN_IN
from tests.notifications.servers import SmtpServer
from tests.onboarding.support import INVITE, OWNER_PASSWORD, REQUEST_RESET, SIGN_UP, VIEWER, business
from tests.support import GraphQLClient
from tests.web.browser import NO_CHROMIUM, chromium, chromium_missing, live_server
from tests.web.test_account_pages_browser import mailed_link

pytestmark = pytest.mark.skipif(chromium_missing(), reason=NO_CHROMIUM)

OWNER = "olivia@studio.example"
CHANGE = """mutation($email: String!, $password: String!) {
    changeMyEmail(input: {newEmail: $email, password: $password}) { message errors { code } } }"""


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


async def test_every_mailed_link_works_without_javascript(
    server: tuple[str, Any], browser: Any, smtp: SmtpServer
) -> None:
    base, _ = server
    async with httpx.AsyncClient(base_url=base) as http:
        gql = GraphQLClient(http)
        signed_up = (await gql(SIGN_UP, {"input": business()})).data["signUpBusiness"]
        owner_token = signed_up["token"]
        await gql(INVITE, {"email": "sam@example.com", "role": "STAFF"}, token=owner_token, tenant="studio-nord")
        verify_link = await mailed_link(smtp, OWNER, "/verify-email", 1)
        invitation_link = await mailed_link(smtp, "sam@example.com", "/accept-invitation", 1)

        context = await browser.new_context(java_script_enabled=False, locale="en-US")
        page = await context.new_page()

        # Verify: opening the link shows a button and changes nothing; the button verifies.
        await page.goto(verify_link)
        button = page.get_by_role("button", name="Confirm my email address")
        await button.wait_for()
        me = await gql(VIEWER, token=owner_token, tenant="studio-nord")
        assert me.data["viewer"]["user"]["emailVerified"] is False
        await button.click()
        await page.get_by_text("Thank you: your email address is confirmed.").wait_for()
        me = await gql(VIEWER, token=owner_token, tenant="studio-nord")
        assert me.data["viewer"]["user"]["emailVerified"] is True
        await page.go_back()
        await page.get_by_role("button", name="Confirm my email address").click()
        await page.get_by_text("not valid any more").wait_for()  # single use, said plainly

        # Accept the invitation with a new account.
        await page.goto(invitation_link)
        await page.locator("form.nojs").get_by_label("Your name").fill("Sam Staff")
        await page.locator("form.nojs").get_by_label("Password").fill("sam's long passphrase")
        await page.locator("form.nojs").get_by_role("button", name="Join the team").click()
        await page.get_by_text("Welcome to Studio Nord").wait_for()
        sam = (await gql(SIGN_IN, {"email": "sam@example.com", "password": "sam's long passphrase"},
                         tenant="studio-nord")).data["signIn"]
        assert sam["token"]

        # Reset Sam's password from the mailed link.
        await gql(REQUEST_RESET, {"email": "sam@example.com"}, tenant="studio-nord")
        reset_link = await mailed_link(smtp, "sam@example.com", "/reset-password", 2)
        await page.goto(reset_link)
        await page.locator("form.nojs").get_by_label("New password").fill("sam's newer passphrase")
        await page.locator("form.nojs").get_by_role("button", name="Set the new password").click()
        await page.get_by_text("Your password is set.").wait_for()
        again = (await gql(SIGN_IN, {"email": "sam@example.com", "password": "sam's newer passphrase"},
                           tenant="studio-nord")).data["signIn"]
        assert again["token"]
        await page.goto(reset_link)  # used once: the form says so, with a way back
        await page.locator("form.nojs").get_by_label("New password").fill("yet another passphrase")
        await page.locator("form.nojs").get_by_role("button", name="Set the new password").click()
        await page.get_by_text("not valid any more").wait_for()
        await page.get_by_role("link", name="Try again").wait_for()

        # Change the owner's email: the link to the new address, a button, the old address told.
        asked = await gql(CHANGE, {"email": "olivia@new.example", "password": OWNER_PASSWORD},
                          token=owner_token, tenant="studio-nord")
        assert asked.data["changeMyEmail"]["errors"] == []
        change_link = await mailed_link(smtp, "olivia@new.example", "/confirm-email-change", 1)
        await page.goto(change_link)
        await page.get_by_role("button", name="Use this address").click()
        await page.get_by_text("Done: your account's email address is now olivia@new.example.").wait_for()
        me = await gql(VIEWER, token=owner_token, tenant="studio-nord")
        assert me.data["viewer"]["user"]["email"] == "olivia@new.example"
        for _ in range(100):
            if len(smtp.sink.to(OWNER)) >= 2:
                break
            await page.wait_for_timeout(50)
        assert "olivia@new.example" in smtp.sink.to(OWNER)[-1].text
        await context.close()


async def test_a_form_post_from_another_site_is_refused(server: tuple[str, Any], smtp: SmtpServer) -> None:
    base, _ = server
    async with httpx.AsyncClient(base_url=base) as http:
        gql = GraphQLClient(http)
        owner_token = (await gql(SIGN_UP, {"input": business()})).data["signUpBusiness"]["token"]
        verify_link = await mailed_link(smtp, OWNER, "/verify-email", 1)
        token = verify_link.split("token=", 1)[1]
        forged = await http.post("/verify-email", data={"token": token},
                                 headers={"Origin": "https://evil.example"})
        fetched_cross_site = await http.post("/verify-email", data={"token": token},
                                             headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"})
        opaque = await http.post("/verify-email", data={"token": token}, headers={"Origin": "null"})
        not_a_form = await http.post("/verify-email", json={"token": token})
        me = await gql(VIEWER, token=owner_token, tenant="studio-nord")
        same_site = await http.post("/verify-email", data={"token": token}, headers={"Origin": base})
        me_after = await gql(VIEWER, token=owner_token, tenant="studio-nord")
    assert forged.status_code == fetched_cross_site.status_code == opaque.status_code == 403
    assert not_a_form.status_code == 415
    assert me.data["viewer"]["user"]["emailVerified"] is False
    assert same_site.status_code == 200 and me_after.data["viewer"]["user"]["emailVerified"] is True
    await _truncate_all(server[1])
