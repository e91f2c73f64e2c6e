"""The booking, manage-booking and staff calendar pages in real headless Chromium, on the real app over TCP:
what a customer sees and does, and that the slots a page shows stay live."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from boka.booking.links import manage_url
from boka.db import Database, create_engine
from boka.seed import DEMO_PASSWORD, seed_demo_tenant
from tests.conftest import _asyncpg_dsn, _truncate_all, settings_for
from tests.web.browser import (
    DESKTOP,
    CuttableProxy,
    NO_CHROMIUM,
    PHONE,
    chromium,
    chromium_missing,
    live_server,
    page_errors,
    screenshot,
)

pytestmark = pytest.mark.skipif(chromium_missing(), reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def server(postgres_url: str) -> Iterator[tuple[str, Any]]:
    """One server and one seeded demo tenant for the module's tests (each uses its own
    service, so they do not meet); emptied at the end."""
    settings = settings_for(postgres_url, relay_in_app=True)
    with live_server(settings) as base:
        yield base, settings


@pytest.fixture(scope="module")
async def demo(server: tuple[str, Any]) -> AsyncIterator[str]:
    base, settings = server
    database = Database(create_engine(settings_for(settings.migration_url)))
    try:
        await seed_demo_tenant(database)
    finally:
        await database.dispose()
    yield base
    await _truncate_all(settings)


@pytest.fixture(scope="module")
async def browser(demo: str) -> AsyncIterator[Any]:
    async with chromium() as browser:
        yield browser


async def _owner_query(settings: Any, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(_asyncpg_dsn(settings.migration_url))
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def _choose_service(page: Any, name: str) -> None:
    await page.get_by_label(name).check()


async def test_a_guest_books_a_haircut_and_sees_the_confirmation(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, settings = server
    context = await browser.new_context(viewport=PHONE, timezone_id="America/New_York", locale="en-US")
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors = page_errors(page)
    await page.goto(f"{base}/book/demo")
    await page.get_by_role("heading", name="Demo Studio").wait_for()
    # the customer's own time zone, detected; the slots are shown in it
    assert await page.get_by_label("Time zone").input_value() == "America/New_York"
    await _choose_service(page, "Haircut")
    first_slot = page.locator("button.slot").first
    await first_slot.wait_for()
    await screenshot(page, "booking-page")
    await first_slot.click()
    await page.get_by_label("First name").fill("Gina")
    await page.get_by_label("Last name").fill("Guest")
    await page.get_by_label("Email").fill("gina@example.com")
    await page.get_by_label("Discount code (optional)").fill("WELCOME10")
    await page.get_by_role("button", name="Apply").click()
    await page.locator("dl.quote", has_text="WELCOME10").wait_for()
    total = await page.locator("dl.quote .total").inner_text()
    assert total != "€45.00"  # less 10 % (and the off-peak rule on weekday mornings)
    # a double click books once (the button and the Idempotency-Key both see to it)
    booking_requests: list[Any] = []
    page.on("request", lambda request: booking_requests.append(request)
            if "createBooking" in (request.post_data or "") else None)
    await page.get_by_role("button", name="Book now").dblclick()
    confirmation = page.locator("#confirmation")
    await confirmation.get_by_role("heading", name="You're booked!").wait_for()
    text = await confirmation.inner_text()
    assert "Haircut with" in text and "You pay on site." in text
    assert total in text
    manage = await page.locator("#manage-link").get_attribute("href")
    assert manage.startswith(f"{base}/manage/bkm_") and manage.endswith("?tenant=demo")
    async with page.expect_download() as download_info:
        await page.locator("#add-to-calendar").click()
    ics = (await (await download_info.value).path()).read_text()
    assert "BEGIN:VEVENT" in ics and "SUMMARY:Haircut · Demo Studio" in ics
    # the same UID as the invite the confirmation email carries: one event in the calendar
    assert "UID:booking-" in ics and "@127.0.0.1" in ics
    await screenshot(page, "booking-confirmation")
    rows = await _owner_query(settings, """
        SELECT b.status FROM bookings b JOIN customers c ON c.id = b.customer_id
        WHERE c.email = 'gina@example.com'""")
    assert len(rows) == 1
    keys = {(await request.all_headers()).get("idempotency-key") for request in booking_requests}
    assert len(keys) == 1 and None not in keys
    assert not errors, errors
    await context.close()


async def test_a_slot_booked_on_one_page_disappears_from_the_other_within_a_second(
    demo: str, browser: Any
) -> None:
    base = demo
    pages = []
    for _ in range(2):
        context = await browser.new_context(viewport=DESKTOP, timezone_id="Europe/Berlin")
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{base}/book/demo")
        await _choose_service(page, "Beard trim")
        await page.get_by_label("With").select_option(label="Ben Barber")
        await page.locator("button.slot").first.wait_for()
        pages.append(page)
    booker, watcher = pages
    start = await booker.locator("button.slot").first.get_attribute("data-start")
    taken = watcher.locator(f'button.slot[data-start="{start}"]')
    assert await taken.count() == 1
    await booker.locator(f'button.slot[data-start="{start}"]').click()
    await booker.get_by_label("First name").fill("Walter")
    await booker.get_by_label("Email").fill("walter@example.com")
    clicked_at = time.monotonic()
    await booker.get_by_role("button", name="Book now").click()
    await booker.get_by_role("heading", name="You're booked!").wait_for()
    booked_at = time.monotonic()
    await taken.wait_for(state="detached", timeout=1000)
    print(f"slot gone from the other page {1000 * (time.monotonic() - booked_at):.0f} ms after "
          f"the confirmation, {1000 * (time.monotonic() - clicked_at):.0f} ms after the click")
    # the other slots are still there
    assert await watcher.locator("button.slot").count() > 0
    for page in pages:
        await page.context.close()


async def test_a_customer_reschedules_and_cancels_through_the_manage_link(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, settings = server
    async with httpx.AsyncClient(base_url=base, headers={"X-Tenant": "demo"}) as http:
        services = (await http.post("/graphql", json={"query": "{ services { edges { node { id name } } } }"})).json()
        colour = next(e["node"]["id"] for e in services["data"]["services"]["edges"] if e["node"]["name"] == "Colour")
        days = (await http.post("/graphql", json={
            "query": """query($s: ID!, $from: DateTime!, $to: DateTime!) {
              availabilityDays(serviceId: $s, from: $from, to: $to) { date slots { start } } }""",
            "variables": {"s": colour, "from": _iso(time.time() + 3 * 86400), "to": _iso(time.time() + 10 * 86400)},
        })).json()["data"]["availabilityDays"]
        start = next(day for day in days if day["slots"])["slots"][0]["start"]
        booked = (await http.post("/graphql", json={
            "query": """mutation($input: CreateBookingInput!) {
              createBooking(input: $input) { manageToken booking { id } errors { code message } } }""",
            "variables": {"input": {"serviceId": colour, "start": start,
                                    "customer": {"email": "carla@example.com", "firstName": "Carla"}}},
        })).json()["data"]["createBooking"]
    assert booked["errors"] == []
    # the link every booking message carries
    link = manage_url(base, booked["manageToken"], "demo")

    context = await browser.new_context(viewport=PHONE, timezone_id="Europe/Berlin", locale="de-DE")
    page = await context.new_page()
    page.set_default_timeout(10_000)
    # a link that is not (or no longer) valid says so in words
    await page.goto(f"{base}/manage/bkm_not-a-token?tenant=demo")
    await page.get_by_text("Das haben wir nicht gefunden").wait_for()
    errors = page_errors(page)
    await page.goto(link)
    await page.get_by_role("heading", name="Ihre Buchung").wait_for()
    await page.locator("#language").select_option("en")
    await page.get_by_role("heading", name="Your booking").wait_for()
    before = await page.locator("#when").inner_text()
    await screenshot(page, "manage-page")

    await page.get_by_role("button", name="Change the time").click()
    later_day = page.locator("button.day:not([disabled])").nth(4)  # beyond the 48 h of free cancellation
    await later_day.click()
    await page.locator("button.slot").first.click()
    await page.locator("#confirm-reschedule").click()
    await page.get_by_text("Your booking has moved to").wait_for()
    assert await page.locator("#when").inner_text() != before

    await page.get_by_role("button", name="Cancel the booking").click()
    preview = await page.locator("#refund-preview").inner_text()
    assert "Cancelling now is free." in preview and "You have paid nothing" in preview
    await screenshot(page, "manage-cancel")
    await page.get_by_role("button", name="Yes, cancel my booking").click()
    await page.get_by_text("Your booking is cancelled.").wait_for()
    assert await page.locator("#booking-status").inner_text() == "Cancelled"
    rows = await _owner_query(settings, """
        SELECT b.status, b.start_time FROM bookings b JOIN customers c ON c.id = b.customer_id
        WHERE c.email = 'carla@example.com'""")
    assert [row["status"] for row in rows] == ["cancelled"]
    assert rows[0]["start_time"].isoformat() != start
    assert not errors, errors
    await context.close()


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


async def _book(http: httpx.AsyncClient, service_id: str, start: str, first: str, last: str) -> None:
    booked = (await http.post("/graphql", json={
        "query": """mutation($input: CreateBookingInput!) {
          createBooking(input: $input) { booking { id } errors { code message } } }""",
        "variables": {"input": {"serviceId": service_id, "start": start, "customer": {
            "email": f"{first.lower()}@example.com", "firstName": first, "lastName": last}}},
    })).json()["data"]["createBooking"]
    assert booked["errors"] == []


async def test_the_staff_calendar_shows_new_bookings_live_and_converges_after_a_dropped_socket(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, settings = server
    proxy = CuttableProxy(int(base.rsplit(":", 1)[1]))
    through_proxy = await proxy.start()
    context = await browser.new_context(viewport=DESKTOP, timezone_id="Europe/Berlin")
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors = page_errors(page)
    try:
        await page.goto(f"{through_proxy}/calendar?tenant=demo")
        await page.get_by_label("Email").fill("owner@demo.boka.test")
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="Calendar").wait_for()
        await page.get_by_label("View").select_option("week")
        await page.locator(".cal-day").nth(6).wait_for()
        await page.locator("#live", has_text="Live").wait_for()

        async with httpx.AsyncClient(base_url=base, headers={"X-Tenant": "demo"}) as http:
            services = (await http.post("/graphql", json={"query": "{ services { edges { node { id name } } } }"})).json()
            haircut = next(e["node"]["id"] for e in services["data"]["services"]["edges"] if e["node"]["name"] == "Haircut")
            days = (await http.post("/graphql", json={
                "query": """query($s: ID!, $from: DateTime!, $to: DateTime!) {
                  availabilityDays(serviceId: $s, from: $from, to: $to) { date slots { start } } }""",
                "variables": {"s": haircut, "from": _iso(time.time()), "to": _iso(time.time() + 6 * 86400)},
            })).json()["data"]["availabilityDays"]
            slots = next(day for day in days if len(day["slots"]) > 2)["slots"]

            await _book(http, haircut, slots[-1]["start"], "Calvin", "Calendar")
            booked_at = time.monotonic()
            await page.locator("li.booking", has_text="Calvin Calendar").wait_for(timeout=1000)
            print(f"calendar showed the booking {1000 * (time.monotonic() - booked_at):.0f} ms after it was made")
            await screenshot(page, "staff-calendar")

            # the socket drops, a booking is made meanwhile, the calendar refetches on reconnect
            proxy.cut(refuse=True)
            await page.locator("#live", has_text="Reconnecting").wait_for()
            await _book(http, haircut, slots[-2]["start"], "Dora", "Dropped")
            await asyncio.sleep(0.3)
            proxy.resume()
            await page.locator("li.booking", has_text="Dora Dropped").wait_for(timeout=15_000)
            await page.locator("#live", has_text="Live").wait_for()

        # cancelled from the calendar
        dora = page.locator("li.booking", has_text="Dora Dropped")
        await dora.get_by_role("button", name="Cancel").click()
        await dora.locator(".badge", has_text="Cancelled").wait_for()
        rows = await _owner_query(settings, """
            SELECT b.status FROM bookings b JOIN customers c ON c.id = b.customer_id
            WHERE c.email = 'dora@example.com'""")
        assert [row["status"] for row in rows] == ["cancelled"]
        assert not [error for error in errors if "WebSocket" not in error and "ERR_" not in error], errors
    finally:
        await context.close()
        await proxy.close()


async def test_the_booking_page_wears_the_business_colours_and_welcome(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    """What the owner sets in the business settings (issue 15) reaches the page through the
    public business(slug) query: the brand colour (with readable text on it) and the welcome."""
    base, settings = server
    await _owner_query(
        settings,
        "UPDATE tenants SET settings = jsonb_set(settings, '{business}', "
        "coalesce(settings -> 'business', '{}') || $1::jsonb) WHERE slug = 'demo'",
        '{"brand_color": "#ffcc00", "booking_page_intro": "Welcome to the studio!"}',
    )
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors = page_errors(page)
    await page.goto(f"{base}/book/demo")
    await page.get_by_text("Welcome to the studio!").wait_for()
    header = page.locator("header.brand")
    assert await header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 204, 0)"
    assert await header.evaluate("e => getComputedStyle(e).color") == "rgb(17, 24, 39)"  # dark on yellow
    assert not errors, errors
    await context.close()


async def test_the_manage_link_shows_moves_and_cancels_the_booking_without_javascript(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, _ = server
    async with httpx.AsyncClient(base_url=base, headers={"X-Tenant": "demo"}) as http:
        services = (await http.post("/graphql", json={"query": "{ services { edges { node { id name } } } }"})).json()
        colour = next(e["node"]["id"] for e in services["data"]["services"]["edges"] if e["node"]["name"] == "Colour")
        days = (await http.post("/graphql", json={
            "query": """query($s: ID!, $from: DateTime!, $to: DateTime!) {
              availabilityDays(serviceId: $s, from: $from, to: $to) { date slots { start } } }""",
            "variables": {"s": colour, "from": _iso(time.time() + 20 * 86400), "to": _iso(time.time() + 27 * 86400)},
        })).json()["data"]["availabilityDays"]
        start = next(day for day in days if day["slots"])["slots"][-1]["start"]
        booked = (await http.post("/graphql", json={
            "query": """mutation($input: CreateBookingInput!) {
              createBooking(input: $input) { manageToken booking { id } errors { code message } } }""",
            "variables": {"input": {"serviceId": colour, "start": start,
                                    "customer": {"email": "nora@example.com", "firstName": "Nora"}}},
        })).json()["data"]["createBooking"]
        assert booked["errors"] == []
        link = manage_url(base, booked["manageToken"], "demo")

        context = await browser.new_context(java_script_enabled=False, locale="en-US")
        page = await context.new_page()
        page.set_default_timeout(10_000)
        # (Playwright's text engine skips <noscript>: read what the page shows instead)
        await page.goto(f"{base}/manage/bkm_not-a-token?tenant=demo")
        assert "This booking link is not valid." in await page.locator("main").inner_text()
        await page.goto(link)
        shown = await page.locator("main").inner_text()
        assert "Demo Studio: Colour" in shown and "Status: confirmed" in shown, shown
        # move it first: to the second time the form offers
        choices = page.get_by_label("Move to")
        second = await choices.locator("option").nth(1).get_attribute("value")
        await choices.select_option(second)
        await page.get_by_role("button", name="Move this booking").click()
        said = await page.locator("main").inner_text()
        assert "Your booking is moved to" in said, said
        await page.goto(link)
        await page.get_by_label("Reason (optional)").fill("Cannot make it")
        await page.get_by_role("button", name="Cancel this booking").click()
        await page.get_by_text("Your booking is cancelled.").wait_for()
        await page.goto(link)  # now it shows as cancelled, with no form
        assert "Status: cancelled" in await page.locator("main").inner_text()
        assert await page.get_by_role("button", name="Cancel this booking").count() == 0
        await context.close()

        status = (await http.post("/graphql", json={
            "query": "query($t: String!) { bookingByLink(manageToken: $t) { status } }",
            "variables": {"t": booked["manageToken"]},
        })).json()["data"]["bookingByLink"]["status"]
    assert status == "CANCELLED"
    async with httpx.AsyncClient(base_url=base, headers={"X-Tenant": "demo"}) as http:
        moved_to = (await http.post("/graphql", json={
            "query": "query($t: String!) { bookingByLink(manageToken: $t) { startTime } }",
            "variables": {"t": booked["manageToken"]},
        })).json()["data"]["bookingByLink"]["startTime"]
    assert datetime.fromisoformat(moved_to) == datetime.fromisoformat(second)
