"""How the pages are served: their Content-Security-Policy, the switch that turns them off,
and the manage links of messages sent before the page existed."""

from __future__ import annotations

from typing import Any

import httpx

from boka.config import Settings
from boka.notifications.account_mail import AccountMail, compose
from boka.notifications.kinds import AccountMailKind
from boka.web.app import create_app
from boka.web.pages import PAGE_CSP, STATIC_DIR


async def test_the_pages_are_served_with_a_policy_that_allows_only_this_origin(http: httpx.AsyncClient) -> None:
    for path in ("/book/demo", "/book", "/manage/bkm_abc.def", "/calendar"):
        response = await http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == PAGE_CSP
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "'unsafe-inline'" not in PAGE_CSP and "connect-src 'self'" in PAGE_CSP
    script = await http.get("/web/book.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await http.get("/web/vendor/graphql-ws/client.js")).status_code == 200
    assert "MIT" in (STATIC_DIR / "vendor" / "graphql-ws" / "LICENSE.md").read_text()


async def test_the_links_in_account_mails_answer_with_their_pages(http: httpx.AsyncClient) -> None:
    """The link as the mail carries it (composed by the same function), not a path typed here."""
    pages = {
        AccountMailKind.VERIFY_EMAIL: "/web/verify-email.js",
        AccountMailKind.TEAM_INVITATION: "/web/accept-invitation.js",
        AccountMailKind.PASSWORD_RESET: "/web/reset-password.js",
    }
    for kind, script in pages.items():
        mail = compose(AccountMail(kind=kind, to="sam@example.com", token="tok_abc.def", detail="staff"),
                       "https://book.example/", 30)
        link = next(word for word in mail.body.split() if word.startswith("https://book.example/"))
        response = await http.get(link.removeprefix("https://book.example"))
        assert response.status_code == 200, link
        assert response.headers["content-security-policy"] == PAGE_CSP
        assert response.headers["referrer-policy"] == "no-referrer"
        assert f'src="{script}"' in response.text
        assert (await http.get(script)).status_code == 200


async def test_old_manage_links_lead_to_the_page(http: httpx.AsyncClient) -> None:
    response = await http.get("/manage-booking", params={"token": "bkm_abc.def", "tenant": "demo"})
    assert response.status_code == 308
    assert response.headers["location"] == "/manage/bkm_abc.def?tenant=demo"
    assert (await http.get("/manage-booking")).status_code == 404


async def test_web_pages_false_leaves_the_pages_out(settings: Settings, app: Any) -> None:
    api_only = create_app(settings.model_copy(update={"web_pages": False}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api_only), base_url="http://t") as http:
        for path in ("/book/demo", "/manage/bkm_abc.def", "/calendar", "/web/book.js", "/manage-booking?token=x",
                     "/verify-email?token=x", "/accept-invitation?token=x", "/reset-password?token=x"):
            assert (await http.get(path)).status_code == 404, path


def test_with_stripe_the_booking_page_allows_stripe_js_its_frames_and_api() -> None:
    """What Stripe's CSP guide lists for Stripe.js and the Payment Element, and nothing else."""
    from boka.web.pages import stripe_page_csp, takes_card_payments

    settings = Settings(stripe_secret_key="sk_live_x", stripe_publishable_key="pk_live_x")
    assert takes_card_payments(settings)
    assert not takes_card_payments(Settings(stripe_secret_key="sk_live_x"))
    assert not takes_card_payments(Settings(stripe_publishable_key="pk_live_x"))
    csp = stripe_page_csp(settings)
    assert "script-src 'self' https://js.stripe.com https://*.js.stripe.com;" in csp
    assert "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com;" in csp
    assert "connect-src 'self' https://api.stripe.com;" in csp
    assert "'unsafe-inline'" not in csp and "style-src 'self';" in csp


def test_the_api_offers_the_publishable_key_only_with_both_of_stripes_keys() -> None:
    """What business(slug) { payments } answers: the key and Stripe.js's address only when the
    deployment takes cards (a publishable key without the secret one could not create payments)."""
    from boka.payments.card_checkout import OFFLINE, card_checkout_for

    both = card_checkout_for(Settings(stripe_secret_key="sk_live_x", stripe_publishable_key="pk_live_x"))
    assert (both.online, both.publishable_key, both.js_url) == (True, "pk_live_x", "https://js.stripe.com/v3/")
    assert card_checkout_for(Settings(stripe_secret_key="sk_live_x")) == OFFLINE
    assert card_checkout_for(Settings(stripe_publishable_key="pk_live_x")) == OFFLINE
    assert card_checkout_for(None) == OFFLINE
