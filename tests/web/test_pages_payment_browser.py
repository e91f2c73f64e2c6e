"""A paid service on the booking page with Stripe configured, in real headless Chromium against
localstripe (the fake Stripe server the payment tests use), with worker.py running the payment
jobs and localstripe delivering signed webhooks to the app.

What localstripe can and cannot do here: it serves a fake Stripe.js at /js.stripe.com/v3/ whose
``elements().create()`` mounts a fake card form, but it has no ``confirmPayment`` (only the older
``confirmCardPayment``, which does not attach a card). So the page's own Pay button cannot be
driven against it. This test checks what the page does up to that point — loads Stripe.js from
the configured address under its Content-Security-Policy, gives it the publishable key (which it
reads from the public API: business(slug) { payments }) and the
payment's client secret, mounts the Payment Element — and then pays that client secret with the
stripe library as Stripe.js would, and watches the booking become confirmed and paid, on the
manage page too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import stripe

from boka.db import Database, create_engine
from boka.seed import seed_demo_tenant
from tests.conftest import TEST_REDIS_URL, _asyncpg_dsn, _truncate_all, settings_for
from tests.jobs.workers import worker_env, worker_process
from tests.payments.conftest import localstripe, pay_with_card, register_webhook, stripe_settings  # noqa: F401
from tests.payments.support import payment_intent_id
from tests.web.browser import PHONE, NO_CHROMIUM, chromium, chromium_missing, live_server, page_errors, screenshot

pytestmark = pytest.mark.skipif(chromium_missing(), reason=NO_CHROMIUM)
PUBLISHABLE_KEY = "pk_test_boka_pages"

# Records what the page hands Stripe.js (the fake ignores elements()'s options).
RECORD_STRIPE = """
window.__stripe = [];
let wrapped;
Object.defineProperty(window, "Stripe", {
  configurable: true,
  get() { return wrapped; },
  set(real) {
    wrapped = (key) => {
      const stripe = real(key);
      const elements = stripe.elements;
      stripe.elements = (options) => { window.__stripe.push({ key, options }); return elements(options); };
      return stripe;
    };
  },
});
"""


@pytest.fixture(scope="module")
def server(postgres_url: str, localstripe: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:  # noqa: F811
    stripe_config = {**stripe_settings(localstripe), "stripe_publishable_key": PUBLISHABLE_KEY,
                     "stripe_js_url": f"{localstripe}/js.stripe.com/v3/"}
    settings = settings_for(postgres_url, relay_in_app=True, **stripe_config)
    env = worker_env(TEST_REDIS_URL, database_url=postgres_url, **stripe_settings(localstripe))
    with live_server(settings) as base:
        register_webhook(localstripe, f"{base}/webhooks/stripe")
        with worker_process(env, tmp_path_factory.mktemp("worker") / "worker.log"):
            yield base, settings


async def _owner_query(settings: Any, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(_asyncpg_dsn(settings.migration_url))
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
async def demo(server: tuple[str, Any]) -> AsyncIterator[str]:
    base, settings = server
    database = Database(create_engine(settings_for(settings.migration_url)))
    try:
        await seed_demo_tenant(database)
    finally:
        await database.dispose()
    # the owner asks for the whole price of a haircut up front
    await _owner_query(settings, """
        INSERT INTO service_payment_policies (service_id, tenant_id, mode, no_show_fee_percent, updated_at)
        SELECT id, tenant_id, 'full', 0, now() FROM services WHERE name = 'Haircut'""")
    yield base
    await _truncate_all(settings)


@pytest.fixture(scope="module")
async def browser(demo: str) -> AsyncIterator[Any]:
    async with chromium() as browser:
        yield browser


async def test_the_booking_page_allows_stripe_only_when_configured(
    server: tuple[str, Any], demo: str, localstripe: str  # noqa: F811
) -> None:
    base, _ = server
    async with httpx.AsyncClient(base_url=base) as http:
        book = (await http.get("/book/demo")).headers["content-security-policy"]
        manage = (await http.get("/manage/bkm_x")).headers["content-security-policy"]
        page = (await http.get("/book/demo")).text
        # the page learns the key from the public API, as any client would
        public = (await http.post("/graphql", json={"query": """{ business(slug: "demo") {
            payments { online stripePublishableKey stripeJsUrl } } }"""})).json()
    assert f"script-src 'self' {localstripe};" in book
    assert f"frame-src {localstripe};" in book
    assert f"connect-src 'self' {localstripe};" in book
    assert localstripe not in manage and "frame-src" not in manage  # only the page that pays
    assert public == {"data": {"business": {"payments": {
        "online": True, "stripePublishableKey": PUBLISHABLE_KEY,
        "stripeJsUrl": f"{localstripe}/js.stripe.com/v3/"}}}}, public
    assert PUBLISHABLE_KEY not in page and "boka-stripe" not in page  # no page config any more


async def test_a_guest_books_a_paid_haircut_and_the_card_payment_confirms_it(
    server: tuple[str, Any], demo: str, browser: Any, localstripe: str  # noqa: F811
) -> None:
    base, settings = server
    context = await browser.new_context(viewport=PHONE, timezone_id="Europe/Berlin", locale="en-US")
    await context.add_init_script(RECORD_STRIPE)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors = page_errors(page)
    await page.goto(f"{base}/book/demo")
    await page.get_by_label("Haircut").check()
    await page.locator("button.slot").first.click()
    # the picked time is held while the details are filled in; the booking goes through the hold
    await page.locator("#hold-note").filter(has_text="We're holding this time for you until").wait_for()
    await page.get_by_label("First name").fill("Paula")
    await page.get_by_label("Email").fill("paula@example.com")
    await page.get_by_role("button", name="Book now").click()
    confirmation = page.locator("#confirmation")
    await confirmation.get_by_role("heading", name="Payment needed").wait_for()
    text = await confirmation.inner_text()
    amount = text.split("Pay ", 1)[1].split(" by card", 1)[0]  # €45.00 less any off-peak rule
    assert amount.startswith("€") and f"Pay {amount} by card to confirm. Your time is held until" in text
    # localstripe's Stripe.js, from the configured address, mounted its card form in the element
    await page.locator("#payment-element input").first.wait_for()
    await page.get_by_role("button", name=f"Pay {amount}").wait_for()
    calls = await page.evaluate("() => window.__stripe")
    assert len(calls) == 1 and calls[0]["key"] == PUBLISHABLE_KEY
    secret = calls[0]["options"]["clientSecret"]
    rows = await _owner_query(settings, """
        SELECT b.status, p.status AS paid, p.provider_payment_id FROM bookings b
        JOIN customers c ON c.id = b.customer_id JOIN payments p ON p.booking_id = b.id
        WHERE c.email = 'paula@example.com'""")
    assert [(row["status"], row["paid"]) for row in rows] == [("pending", "pending")], rows
    assert payment_intent_id(secret) == rows[0]["provider_payment_id"]
    holds = """SELECT h.purpose, h.status FROM slot_holds h JOIN bookings b ON b.id = h.booking_id
               JOIN customers c ON c.id = b.customer_id WHERE c.email = 'paula@example.com'"""
    # the checkout hold became the payment's hold (one hold, one "held until")
    assert [(row["purpose"], row["status"]) for row in await _owner_query(settings, holds)] == [("payment", "open")]
    await screenshot(page, "booking-payment")

    # What Stripe.js's confirmPayment does with the card (the fake has none): pay the intent.
    client = stripe.StripeClient(
        "sk_test_boka_payments", base_addresses={"api": localstripe}, http_client=stripe.RequestsClient(timeout=10)
    )
    await asyncio.to_thread(pay_with_card, client, payment_intent_id(secret))
    deadline = time.monotonic() + 30
    while True:
        rows = await _owner_query(settings, """
            SELECT b.status, p.status AS paid FROM bookings b JOIN customers c ON c.id = b.customer_id
            JOIN payments p ON p.booking_id = b.id WHERE c.email = 'paula@example.com'""")
        if [(row["status"], row["paid"]) for row in rows] == [("confirmed", "succeeded")]:
            break
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.2)
    assert [(row["purpose"], row["status"]) for row in await _owner_query(settings, holds)] == [("payment", "converted")]
    # the manage link shown with the card form says the same
    await page.locator("#manage-link").click()
    await page.get_by_role("heading", name="Your booking").wait_for()
    assert await page.locator("#booking-status").inner_text() == "Confirmed"
    assert not [error for error in errors if "localstripe" not in error], errors
    await context.close()


async def test_a_service_paid_on_site_loads_no_stripe(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, _ = server
    context = await browser.new_context(viewport=PHONE, timezone_id="Europe/Berlin", locale="en-US")
    await context.add_init_script(RECORD_STRIPE)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    stripe_requests: list[str] = []
    page.on("request", lambda request: stripe_requests.append(request.url) if "stripe" in request.url else None)
    await page.goto(f"{base}/book/demo")
    await page.get_by_label("Beard trim").check()
    await page.locator("button.slot").first.click()
    await page.get_by_label("First name").fill("Otto")
    await page.get_by_label("Email").fill("otto@example.com")
    await page.get_by_role("button", name="Book now").click()
    await page.get_by_role("heading", name="You're booked!").wait_for()
    assert "You pay on site." in await page.locator("#confirmation").inner_text()
    assert await page.evaluate("() => window.__stripe") == [] and stripe_requests == []
    await context.close()
