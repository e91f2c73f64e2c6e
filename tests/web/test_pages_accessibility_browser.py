"""axe-core on the booking, manage-booking and staff calendar pages, in real headless Chromium
at phone and desktop sizes: no serious or critical violation (labels, contrast, landmarks,
names, focus order). axe-core is vendored under tests/web/vendor/ and injected by Playwright;
the app never serves it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from boka.booking.links import manage_url
from boka.db import Database, create_engine
from boka.seed import DEMO_PASSWORD, seed_demo_tenant
from tests.conftest import _truncate_all, settings_for
from tests.web.browser import (
    DESKTOP,
    NO_CHROMIUM,
    PHONE,
    axe_violations,
    chromium,
    chromium_missing,
    live_server,
)

pytestmark = pytest.mark.skipif(chromium_missing(), reason=NO_CHROMIUM)
SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


@pytest.fixture(scope="module")
def server(postgres_url: str) -> Iterator[tuple[str, Any]]:
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


async def _page(browser: Any, size: dict[str, int]) -> Any:
    # bypass_csp: to inject axe-core, which the pages' policy (rightly) refuses
    context = await browser.new_context(viewport=size, bypass_csp=True, timezone_id="Europe/Berlin")
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return page


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


async def _assert_accessible(page: Any, state: str) -> None:
    minor = await axe_violations(page, impacts=("minor", "moderate"))
    if minor:
        print(f"{page.url} {state}: minor or moderate: {minor}")
    violations = await axe_violations(page)
    assert not violations, f"{state}:\n" + "\n".join(violations)


@SIZES
async def test_the_booking_page_has_no_serious_accessibility_violation(
    demo: str, browser: Any, size: dict[str, int]
) -> None:
    page = await _page(browser, size)
    await page.goto(f"{demo}/book/demo")
    await page.get_by_role("heading", name="Demo Studio").wait_for()
    await page.get_by_label("Haircut").check()
    await page.locator("button.slot").first.wait_for()
    await _assert_accessible(page, "services and slots")
    await page.locator("button.slot").first.click()
    await page.locator("dl.quote").wait_for()
    await page.locator("#hold-note").filter(has_text="We're holding this time").wait_for()
    await _assert_accessible(page, "the chosen time held")
    # the form's own errors, as a customer sees them
    await page.get_by_label("Discount code (optional)").fill("NOT-A-CODE")
    await page.get_by_role("button", name="Apply").click()
    await page.locator("#summary .alert").wait_for()
    await _assert_accessible(page, "details, quote and an error")
    await page.get_by_label("Discount code (optional)").fill("")
    await page.get_by_role("button", name="Apply").click()
    await page.locator("dl.quote").wait_for()
    await page.get_by_label("First name").fill("Ada")
    await page.get_by_label("Email").fill(f"ada-{size['width']}@example.com")
    await page.get_by_role("button", name="Book now").click()
    await page.get_by_role("heading", name="You're booked!").wait_for()
    await _assert_accessible(page, "confirmation")
    await page.context.close()


@SIZES
async def test_the_manage_page_has_no_serious_accessibility_violation(
    demo: str, browser: Any, size: dict[str, int]
) -> None:
    async with httpx.AsyncClient(base_url=demo, headers={"X-Tenant": "demo"}) as http:
        services = (await http.post("/graphql", json={"query": "{ services { edges { node { id name } } } }"})).json()
        colour = next(e["node"]["id"] for e in services["data"]["services"]["edges"] if e["node"]["name"] == "Colour")
        days = (await http.post("/graphql", json={
            "query": """query($s: ID!, $from: DateTime!, $to: DateTime!) {
              availabilityDays(serviceId: $s, from: $from, to: $to) { date slots { start } } }""",
            "variables": {"s": colour, "from": _iso(time.time() + 3 * 86400), "to": _iso(time.time() + 10 * 86400)},
        })).json()["data"]["availabilityDays"]
        slots = [slot for day in days for slot in day["slots"]]
        start = slots[0 if size is PHONE else 1]["start"]
        booked = (await http.post("/graphql", json={
            "query": """mutation($input: CreateBookingInput!) {
              createBooking(input: $input) { manageToken errors { code message } } }""",
            "variables": {"input": {"serviceId": colour, "start": start, "customer": {
                "email": f"axe-{size['width']}@example.com", "firstName": "Axel"}}},
        })).json()["data"]["createBooking"]
    assert booked["errors"] == []
    page = await _page(browser, size)
    await page.goto(manage_url(demo, booked["manageToken"], "demo"))
    await page.get_by_role("heading", name="Your booking").wait_for()
    await _assert_accessible(page, "the booking")
    await page.get_by_role("button", name="Change the time").click()
    await page.locator("button.slot").first.wait_for()
    await _assert_accessible(page, "rescheduling")
    await page.reload()
    await page.get_by_role("heading", name="Your booking").wait_for()
    await page.get_by_role("button", name="Cancel the booking").click()
    await page.locator("#refund-preview").wait_for()
    await _assert_accessible(page, "cancelling")
    await page.context.close()


@SIZES
async def test_the_staff_calendar_has_no_serious_accessibility_violation(
    demo: str, browser: Any, size: dict[str, int]
) -> None:
    page = await _page(browser, size)
    await page.goto(f"{demo}/calendar?tenant=demo")
    await page.get_by_label("Email").wait_for()
    await _assert_accessible(page, "sign-in")
    await page.get_by_label("Email").fill("owner@demo.boka.test")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Calendar").wait_for()
    await page.locator("#live", has_text="Live").wait_for()
    await _assert_accessible(page, "day view")
    await page.get_by_label("View").select_option("week")
    await page.locator(".cal-day").nth(6).wait_for()
    await _assert_accessible(page, "week view")
    await page.context.close()


async def test_the_check_finds_what_it_should(demo: str, browser: Any) -> None:
    """The check itself can fail: a field without a label and light grey text on white are caught."""
    page = await _page(browser, PHONE)
    await page.goto(f"{demo}/book/demo")
    await page.get_by_role("heading", name="Demo Studio").wait_for()
    await page.evaluate("""() => {
      const input = document.createElement("input");
      const low = document.createElement("p");
      low.textContent = "hard to read";
      low.style.color = "#bbbbbb";
      document.querySelector("main").append(input, low);
    }""")
    violations = " ".join(await axe_violations(page))
    assert "label (critical)" in violations and "color-contrast (serious)" in violations
    await page.context.close()
