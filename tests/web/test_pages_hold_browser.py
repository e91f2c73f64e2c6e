"""The booking page holds the time a guest picks (holdSlot) while the details are filled in, in
real headless Chromium on the real app: another page open on the same booking page sees the time
go at once (availabilityChanged) and come back when the guest picks another one (releaseHold);
the booking goes through the hold; a hold that ran out is held again; a failing holdSlot never
stops the booking. Its own server and tenant: every hold here is made by one guest (127.0.0.1),
and a guest may hold only BOKA_HOLD_MAX_OPEN times at once."""

from __future__ import annotations

import json
import time
from datetime import datetime
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from boka.db import Database, create_engine
from boka.seed import seed_demo_tenant
from tests.conftest import _asyncpg_dsn, _truncate_all, settings_for
from tests.web.browser import (
    DESKTOP,
    NO_CHROMIUM,
    PHONE,
    axe_violations,
    chromium,
    chromium_missing,
    live_server,
    page_errors,
    screenshot,
)

pytestmark = pytest.mark.skipif(chromium_missing(), reason=NO_CHROMIUM)


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


async def _owner_query(settings: Any, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(_asyncpg_dsn(settings.migration_url))
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def _booking_page(browser: Any, base: str, service: str, staff: str, *, size: dict[str, int] = DESKTOP) -> Any:
    # bypass_csp: to inject axe-core, which the page's policy (rightly) refuses
    context = await browser.new_context(viewport=size, timezone_id="Europe/Berlin", locale="en-US", bypass_csp=True)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(f"{base}/book/demo")
    await page.get_by_label(service).check()
    await page.get_by_label("With").select_option(label=staff)
    await page.locator("button.slot").first.wait_for()
    return page


def _operations(page: Any) -> list[dict[str, Any]]:
    """The GraphQL mutations the page sends, as {"query", "variables"}."""
    sent: list[dict[str, Any]] = []

    def seen(request: Any) -> None:
        if request.url.endswith("/graphql") and request.method == "POST" and "mutation" in (request.post_data or ""):
            sent.append(json.loads(request.post_data))

    page.on("request", seen)
    return sent


async def test_a_picked_time_is_held_gone_from_another_page_and_back_when_another_is_picked(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, settings = server
    guest = await _booking_page(browser, base, "Beard trim", "Ben Barber", size=PHONE)
    other = await _booking_page(browser, base, "Beard trim", "Ben Barber")
    errors = page_errors(guest)
    sent = _operations(guest)
    slots = guest.locator("button.slot")
    first = await slots.nth(0).get_attribute("data-start")
    second = await slots.nth(1).get_attribute("data-start")
    first_elsewhere = other.locator(f'button.slot[data-start="{first}"]')
    second_elsewhere = other.locator(f'button.slot[data-start="{second}"]')
    await first_elsewhere.wait_for()
    await second_elsewhere.wait_for()

    await guest.locator(f'button.slot[data-start="{first}"]').click()
    note = guest.locator("#hold-note")
    await note.filter(has_text="We're holding this time for you until").wait_for()
    # held: gone live from the other page, still chosen on the guest's own
    await first_elsewhere.wait_for(state="detached")
    assert await guest.locator(f'button.slot[data-start="{first}"]').get_attribute("aria-pressed") == "true"
    violations = await axe_violations(guest)
    assert not violations, "the time held:\n" + "\n".join(violations)
    await screenshot(guest, "booking-hold-phone")

    # another time: the first is given back (it reappears elsewhere), the second held
    await guest.locator(f'button.slot[data-start="{second}"]').click()
    await second_elsewhere.wait_for(state="detached")
    await first_elsewhere.wait_for()
    await note.filter(has_text="We're holding this time for you until").wait_for()
    assert [op["variables"]["input"] for op in sent if "releaseHold" in op["query"]]

    await guest.get_by_label("First name").fill("Hanna")
    await guest.get_by_label("Email").fill("hanna@example.com")
    await guest.get_by_role("button", name="Book now").click()
    await guest.locator("#confirmation").get_by_role("heading", name="You're booked!").wait_for()
    booking_inputs = [op["variables"]["input"] for op in sent if "createBooking" in op["query"]]
    assert len(booking_inputs) == 1 and booking_inputs[0]["holdId"].startswith("hold_")
    assert "start" not in booking_inputs[0]  # the time is the held one
    rows = await _owner_query(settings, """
        SELECT h.status, b.status AS booking_status, b.start_time FROM slot_holds h
        JOIN bookings b ON b.id = h.booking_id JOIN customers c ON c.id = b.customer_id
        WHERE c.email = 'hanna@example.com'""")
    assert [row["status"] for row in rows] == ["converted"]
    assert rows[0]["start_time"] == datetime.fromisoformat(second.replace("Z", "+00:00"))
    # the released first time is free to anyone; the booked second stays gone
    assert await first_elsewhere.count() == 1 and await second_elsewhere.count() == 0
    assert not errors, errors
    for page in (guest, other):
        await page.context.close()


async def test_a_hold_that_ran_out_is_held_again_and_then_booked(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, settings = server
    guest = await _booking_page(browser, base, "Haircut", "Ben Barber")
    errors = page_errors(guest)
    slot = guest.locator("button.slot").first
    start = await slot.get_attribute("data-start")
    await slot.click()
    await guest.locator("#hold-note").filter(has_text="We're holding").wait_for()
    # the hold runs out before the booking (its expiry job has not freed it yet)
    await _owner_query(settings, """
        UPDATE slot_holds SET expires_at = now() - interval '1 second'
        WHERE status = 'open' AND purpose = 'checkout'""")
    await guest.get_by_label("First name").fill("Otto")
    await guest.get_by_label("Email").fill("otto@example.com")
    await guest.get_by_role("button", name="Book now").click()
    await guest.locator("#alert").filter(has_text="Your hold on this time ran out.").wait_for()
    await guest.locator("#alert").filter(has_text="We're holding the same time for you again").wait_for()
    assert await guest.locator(f'button.slot[data-start="{start}"]').get_attribute("aria-pressed") == "true"
    await guest.get_by_role("button", name="Book now").click()
    await guest.locator("#confirmation").get_by_role("heading", name="You're booked!").wait_for()
    rows = await _owner_query(settings, """
        SELECT h.status FROM slot_holds h JOIN bookings b ON b.id = h.booking_id
        JOIN customers c ON c.id = b.customer_id WHERE c.email = 'otto@example.com'""")
    assert [row["status"] for row in rows] == ["converted"]
    assert not errors, errors
    await guest.context.close()


async def test_booking_goes_ahead_without_a_hold_when_holding_fails(
    server: tuple[str, Any], demo: str, browser: Any
) -> None:
    base, settings = server
    guest = await _booking_page(browser, base, "Haircut", "Anna Stylist")
    sent = _operations(guest)

    async def no_holds(route: Any) -> None:
        if "holdSlot" in (route.request.post_data or ""):
            await route.abort()  # the network fails, for holding only
        else:
            await route.continue_()

    await guest.route("**/graphql", no_holds)
    await guest.locator("button.slot").first.click()
    await guest.locator("dl.quote").wait_for()
    await guest.get_by_label("First name").fill("Nina")
    await guest.get_by_label("Email").fill("nina@example.com")
    await guest.get_by_role("button", name="Book now").click()
    await guest.locator("#confirmation").get_by_role("heading", name="You're booked!").wait_for()
    assert await guest.locator("#hold-note").count() == 0
    booking_inputs = [op["variables"]["input"] for op in sent if "createBooking" in op["query"]]
    assert len(booking_inputs) == 1 and "holdId" not in booking_inputs[0] and booking_inputs[0]["start"]
    await guest.context.close()


async def _graphql(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, headers={"X-Tenant": "demo"}) as http:
        body = (await http.post("/graphql", json={"query": query, "variables": variables or {}})).json()
    assert "errors" not in body, body
    return body["data"]


async def _chosen_on(page: Any) -> tuple[str, str]:
    """The service and staff member chosen on the booking page."""
    return tuple(await page.evaluate(
        """() => [document.querySelector('input[name=service]:checked').value,
                  document.getElementById('staff').value]"""))


async def _hold_elsewhere(base: str, service_id: str, staff_id: str, start: str) -> str:
    """Hold `start` as another guest of the same address would; the secret."""
    data = await _graphql(base, """mutation($input: HoldSlotInput!) { holdSlot(input: $input) {
        hold { holdId } errors { code message } } }""",
        {"input": {"serviceId": service_id, "start": start, "staffId": staff_id}})
    assert data["holdSlot"]["errors"] == [], data
    return data["holdSlot"]["hold"]["holdId"]


async def _release(base: str, hold_id: str) -> None:
    await _graphql(base, """mutation($id: String!) { releaseHold(input: {holdId: $id}) {
        errors { code } } }""", {"id": hold_id})


async def test_a_time_taken_while_it_was_being_held_is_said_and_the_times_refreshed(
    demo: str, browser: Any
) -> None:
    base = demo
    guest = await _booking_page(browser, base, "Colour", "Cleo Colorist")
    start = await guest.locator("button.slot").first.get_attribute("data-start")
    taken: list[str] = []

    async def someone_else_first(route: Any) -> None:
        # the page's holdSlot reaches the server just after another guest held the time
        if "holdSlot" in (route.request.post_data or "") and not taken:
            taken.append(await _hold_elsewhere(base, *await _chosen_on(guest), start))
        await route.continue_()

    await guest.route("**/graphql", someone_else_first)
    await guest.locator(f'button.slot[data-start="{start}"]').click()
    await guest.locator("#hold-note").filter(has_text="someone else took that time a moment ago").wait_for()
    await guest.locator(f'button.slot[data-start="{start}"]').wait_for(state="detached")
    assert await guest.locator('button.slot[aria-pressed="true"]').count() == 0
    await guest.unroute("**/graphql")
    await _release(base, taken[0])
    await guest.locator(f'button.slot[data-start="{start}"]').wait_for()  # free again: live
    await guest.context.close()


async def test_a_guest_holding_too_many_times_is_told_and_can_still_book(demo: str, browser: Any) -> None:
    base = demo
    guest = await _booking_page(browser, base, "Colour", "Anna Stylist")
    start = await guest.locator("button.slot").first.get_attribute("data-start")
    # this address already holds as many times as a guest may (BOKA_HOLD_MAX_OPEN, 3): three
    # haircuts with Ben, hours apart, on another day
    services = (await _graphql(base, "{ services { edges { node { id name staff { id displayName } } } } }"))
    haircut = next(edge["node"] for edge in services["services"]["edges"] if edge["node"]["name"] == "Haircut")
    ben = next(member["id"] for member in haircut["staff"] if member["displayName"] == "Ben Barber")
    days = (await _graphql(base, """query($s: ID!, $staff: ID, $from: DateTime!, $to: DateTime!) {
        availabilityDays(serviceId: $s, staffId: $staff, from: $from, to: $to) { date slots { start } } }""",
        {"s": haircut["id"], "staff": ben, "from": _iso(time.time() + 5 * 86400), "to": _iso(time.time() + 12 * 86400)},
    ))["availabilityDays"]
    apart: list[datetime] = []  # two hours apart: none of them stands in another's way
    for slot in (slot for day in days for slot in day["slots"]):
        at = datetime.fromisoformat(slot["start"].replace("Z", "+00:00"))
        if not apart or (at - apart[-1]).total_seconds() >= 7200:
            apart.append(at)
    held = [await _hold_elsewhere(base, haircut["id"], ben, at.isoformat()) for at in apart[:3]]
    try:
        await guest.locator(f'button.slot[data-start="{start}"]').click()
        await guest.locator("#hold-note").filter(has_text="isn't held for you").wait_for()
        await guest.get_by_label("First name").fill("Lena")
        await guest.get_by_label("Email").fill("lena@example.com")
        await guest.get_by_role("button", name="Book now").click()
        await guest.locator("#confirmation").get_by_role("heading", name="You're booked!").wait_for()
    finally:
        for hold_id in held:
            await _release(base, hold_id)
    await guest.context.close()


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
