"""Booking policies that hold on every path (issue 11, item 3): late reschedules, re-quoted
prices, refunds only of money paid, discount uses given back, one customer in one place at a
time, guest bookings kept out of an account until the email is proven, honest quotes.

The money side of a reschedule and of a cancellation with money paid up front is in
tests/payments/test_policy_money.py (it needs localstripe)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.booking.links import proof_token
from boka.migrations import upgrade_to_head
from boka.web.app import create_app
from boka.models.bookings import BookingHistory
from boka.models.pricing import DiscountCode, PricingRule
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.conftest import settings_for
from tests.support import GraphQLClient, World

CREATE = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { id price { amount } } manageToken errors { field code message } } }"""
RESCHEDULE = """mutation M($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) {
  booking { id startTime price { amount } }
  previousPrice { amount } price { amount currency } fee { amount } refund { amount } balanceDue { amount }
  errors { field code message } } }"""
CANCEL = """mutation C($input: CancelBookingInput!) { cancelBooking(input: $input) {
  booking { status } refund { amount currency } refundPercent errors { code } } }"""
QUOTE = """query Q($input: QuoteInput!) { quote(input: $input) { quote { total { amount } } errors { field code } } }"""
MY_BOOKINGS = "{ bookings(first: 20) { edges { node { id } } } }"
BY_LINK = "query L($t: String!) { bookingByLink(manageToken: $t) { id status } }"
SETTINGS = """mutation S($allow: Boolean!) { updateBookingSettings(input: {allowOverlappingCustomerBookings: $allow}) {
  settings { allowOverlappingCustomerBookings } errors { code } } }"""


async def _book(gql: GraphQLClient, service_id: str, start, *, token: str | None = None, **extra) -> dict:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": {"serviceId": service_id, "start": start.isoformat(), **extra}},
                       token=token, tenant="salon")
    assert not result.errors, result.errors
    return result.data["createBooking"]


async def test_a_move_inside_the_window_is_refused_and_staff_may_override_it_on_record(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, free_cancel_hours=24 * 30)
    owner = await world.person(tenant, Role.OWNER)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    day = future_day()
    booking_id = (await _book(gql, staffed.service_id, local(day, 10), token=carl.token))["booking"]["id"]
    later = local(future_day(20), 10).isoformat()

    refused = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": later}}, token=carl.token, tenant="salon")
    self_override = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": later, "overridePolicy": True}},
                              token=carl.token, tenant="salon")
    overridden = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": later, "overridePolicy": True}},
                           token=owner.token, tenant="salon")

    assert [e["code"] for e in refused.data["rescheduleBooking"]["errors"]] == ["RESCHEDULE_NOT_ALLOWED"]
    assert self_override.error_codes == ["FORBIDDEN"]
    payload = overridden.data["rescheduleBooking"]
    assert payload["errors"] == [] and payload["fee"] == {"amount": 0}
    async with world.runtime.database.transaction(all_tenants=True) as db:
        moves = (await db.execute(
            sa.select(BookingHistory).where(BookingHistory.action == "rescheduled")
        )).scalars().all()
    assert len(moves) == 1  # the refused attempts changed nothing
    assert moves[0].actor_user_id == owner.user.id
    assert moves[0].details["policy_overridden"] is True and moves[0].details["late"] is True


async def test_a_late_move_for_a_fee_then_a_cancellation_costs_what_the_policy_says_on_site(
    gql: GraphQLClient, world: World
) -> None:
    """Paid on site: the fee goes onto the price, and cancelling afterwards refunds nothing,
    because nothing was paid (the paid case is in tests/payments/test_policy_money.py)."""
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(
        tenant, free_cancel_hours=48, late_cancel_refund_percent=40, late_reschedule="fee"
    )
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    booking_id = (await _book(gql, staffed.service_id, local(future_day(1), 10), token=carl.token))["booking"]["id"]

    moved = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": local(future_day(22), 10).isoformat()}},
                      token=carl.token, tenant="salon")
    cancelled = await gql(CANCEL, {"input": {"id": booking_id}}, token=carl.token, tenant="salon")

    payload = moved.data["rescheduleBooking"]
    assert payload["errors"] == []
    assert payload["previousPrice"] == {"amount": 5000}
    assert payload["fee"] == {"amount": 3000}  # a late cancellation keeps 60 % of 50.00
    assert payload["price"] == {"amount": 8000, "currency": "EUR"}
    assert payload["balanceDue"] == {"amount": 8000} and payload["refund"] == {"amount": 0}
    assert cancelled.data["cancelBooking"]["refund"] == {"amount": 0, "currency": "EUR"}
    assert cancelled.data["cancelBooking"]["refundPercent"] is None


async def test_a_reschedule_quotes_the_price_again_at_the_new_time(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, price_cents=10000)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    day = future_day(4)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(PricingRule(tenant_id=tenant.id, name="Early bird", kind="percent", amount=-20,
                           weekdays=[day.weekday()], starts_at=time(9), ends_at=time(11)))
        db.add(DiscountCode(tenant_id=tenant.id, code="HELLO", kind="fixed", value=1500, max_uses=1))
    made = await _book(gql, staffed.service_id, local(day, 13), token=carl.token, discountCode="HELLO")

    early = await gql(RESCHEDULE, {"input": {"id": made["booking"]["id"], "start": local(day, 9).isoformat()}},
                      token=carl.token, tenant="salon")
    back = await gql(RESCHEDULE, {"input": {"id": made["booking"]["id"], "start": local(day, 14).isoformat()}},
                     token=carl.token, tenant="salon")

    assert made["booking"]["price"] == {"amount": 8500}
    moved = early.data["rescheduleBooking"]
    # the off-peak price at the new time, and the code the booking redeemed still applies
    assert (moved["previousPrice"], moved["price"]["amount"], moved["booking"]["price"]) == (
        {"amount": 8500}, 6500, {"amount": 6500})
    assert back.data["rescheduleBooking"]["price"]["amount"] == 8500  # and not stuck off-peak


async def test_an_unpaid_cancellation_answers_no_refund(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    booking_id = (await _book(gql, staffed.service_id, local(future_day(), 10), token=carl.token))["booking"]["id"]

    cancelled = await gql(CANCEL, {"input": {"id": booking_id}}, token=carl.token, tenant="salon")

    assert cancelled.data["cancelBooking"] == {
        "booking": {"status": "CANCELLED"}, "refund": {"amount": 0, "currency": "EUR"},
        "refundPercent": None, "errors": [],
    }


async def test_a_discount_with_max_uses_1_is_usable_again_after_its_booking_is_cancelled(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    dana = await world.person(tenant, Role.CUSTOMER, email="dana@example.com")
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(DiscountCode(tenant_id=tenant.id, code="ONCE", kind="percent", value=50, max_uses=1))
    day = future_day()

    first = await _book(gql, staffed.service_id, local(day, 10), token=carl.token, discountCode="ONCE")
    used_up = await _book(gql, staffed.service_id, local(day, 12), token=dana.token, discountCode="ONCE")
    await gql(CANCEL, {"input": {"id": first["booking"]["id"]}}, token=carl.token, tenant="salon")
    again = await _book(gql, staffed.service_id, local(day, 12), token=dana.token, discountCode="ONCE")

    assert first["booking"]["price"] == {"amount": 2500}
    assert [e["code"] for e in used_up["errors"]] == ["DISCOUNT_EXHAUSTED"]
    assert again["errors"] == [] and again["booking"]["price"] == {"amount": 2500}
    async with world.runtime.database.transaction(tenant.id) as db:
        assert (await db.execute(sa.select(DiscountCode.uses))).scalar_one() == 1
        history = (await db.execute(
            sa.select(BookingHistory.details).where(BookingHistory.action == "cancelled")
        )).scalar_one()
    assert history["released_discount_code"] == "ONCE"


async def test_an_overlapping_customer_booking_is_refused_unless_the_tenant_allows_it(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(tenant)
    await booking_world.add_staff(tenant, staffed)
    owner = await world.person(tenant, Role.OWNER)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    day = future_day()
    first = await _book(gql, staffed.service_id, local(day, 10), token=carl.token)

    overlapping = await _book(gql, staffed.service_id, local(day, 10, 30), token=carl.token)
    for_carl_by_staff = await _book(gql, staffed.service_id, local(day, 10, 30), token=owner.token,
                                    customer={"email": "carl@example.com"})
    moved_onto = await gql(RESCHEDULE, {"input": {"id": (await _book(
        gql, staffed.service_id, local(day, 14), token=carl.token))["booking"]["id"],
        "start": local(day, 10).isoformat()}}, token=carl.token, tenant="salon")
    by_carl = await gql(SETTINGS, {"allow": True}, token=carl.token, tenant="salon")
    allowed = await gql(SETTINGS, {"allow": True}, token=owner.token, tenant="salon")
    now_fine = await _book(gql, staffed.service_id, local(day, 10, 30), token=carl.token)

    assert first["errors"] == []
    message = "This customer already has an appointment at this time."
    assert overlapping["errors"] == [{"field": "start", "code": "CUSTOMER_OVERLAP", "message": message}]
    assert [e["code"] for e in for_carl_by_staff["errors"]] == ["CUSTOMER_OVERLAP"]
    assert [e["code"] for e in moved_onto.data["rescheduleBooking"]["errors"]] == ["CUSTOMER_OVERLAP"]
    assert by_carl.error_codes == ["FORBIDDEN"]
    assert allowed.data["updateBookingSettings"]["settings"] == {"allowOverlappingCustomerBookings": True}
    assert now_fine["errors"] == []


async def test_racing_bookings_of_one_customer_make_one_appointment(gql: GraphQLClient, world: World) -> None:
    """Three staff could take 10:00, so without the rule three of these would succeed; the
    advisory lock on the customer makes the check and the insert one step on PostgreSQL."""
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(tenant)
    for _ in range(2):
        await booking_world.add_staff(tenant, staffed)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    start = local(future_day(), 10)

    results = await asyncio.gather(*(_book(gql, staffed.service_id, start, token=carl.token) for _ in range(6)))

    codes = sorted(e["code"] for result in results for e in result["errors"])
    assert codes == ["CUSTOMER_OVERLAP"] * 5
    assert sum(result["booking"] is not None for result in results) == 1


async def test_a_guest_booking_under_an_account_email_is_not_linked_until_proven(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    day = future_day()
    own = await _book(gql, staffed.service_id, local(day, 10), token=carl.token)  # links the account
    guest = await _book(gql, staffed.service_id, local(day, 14), customer={"email": "Carl@Example.com"})

    async def carls_list() -> set[str]:
        listed = await gql(MY_BOOKINGS, token=carl.token, tenant="salon")
        return {edge["node"]["id"] for edge in listed.data["bookings"]["edges"]}

    before = await carls_list()
    # the token the guest was given proves nothing about the email
    await gql(BY_LINK, {"t": guest["manageToken"]}, tenant="salon")
    after_manage_link = await carls_list()
    # the link emailed to the address does
    guest_id = uuid.UUID(base64.b64decode(guest["booking"]["id"]).decode().split(":")[1])
    opened = await gql(BY_LINK, {"t": proof_token(world.runtime.settings.secret_key, guest_id)}, tenant="salon")
    after_proof = await carls_list()

    assert before == after_manage_link == {own["booking"]["id"]}
    assert opened.data["bookingByLink"]["id"] == guest["booking"]["id"]
    assert after_proof == {own["booking"]["id"], guest["booking"]["id"]}


async def test_a_quote_for_a_time_nobody_can_take_says_so(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    day = future_day()

    closed = await gql(QUOTE, {"input": {"serviceId": staffed.service_id, "start": local(day, 3).isoformat()}},
                       tenant="salon")
    named = await gql(QUOTE, {"input": {"serviceId": staffed.service_id, "start": local(day, 3).isoformat(),
                                        "staffId": gid("StaffMember", staffed.staff[0].id)}},
                      tenant="salon")
    open_ = await gql(QUOTE, {"input": {"serviceId": staffed.service_id, "start": local(day, 10).isoformat()}},
                      tenant="salon")

    assert closed.data["quote"] == {"quote": None, "errors": [{"field": "start", "code": "NO_AVAILABILITY"}]}
    assert named.data["quote"]["errors"] == [{"field": "start", "code": "NO_AVAILABILITY"}]
    assert open_.data["quote"] == {"quote": {"total": {"amount": 5000}}, "errors": []}


@pytest.fixture
async def embedded_app(tmp_path: Path) -> AsyncIterator[Any]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}", redis_url=None)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.mark.sqlite
async def test_the_policies_hold_in_embedded_mode_too(embedded_app: Any) -> None:
    """SQLite differs where the rules touch the database: no advisory lock before the overlap
    check (one writer), and the code's use given back with UPDATE … RETURNING."""
    world = World(embedded_app.state.runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=embedded_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        tenant = await world.tenant("salon", time_zone="Europe/Berlin")
        booking_world = BookingWorld(world)
        staffed = await booking_world.staffed_service(tenant, free_cancel_hours=24 * 30)
        await booking_world.add_staff(tenant, staffed)
        carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
        async with world.runtime.database.transaction(tenant.id, write=True) as db:
            db.add(DiscountCode(tenant_id=tenant.id, code="ONCE", kind="percent", value=50, max_uses=1))
        day = future_day()

        first = await _book(gql, staffed.service_id, local(day, 10), token=carl.token, discountCode="ONCE")
        overlapping = await _book(gql, staffed.service_id, local(day, 10, 30), token=carl.token)
        late_move = await gql(RESCHEDULE, {"input": {"id": first["booking"]["id"],
                                                     "start": local(day, 15).isoformat()}},
                              token=carl.token, tenant="salon")
        cancelled = await gql(CANCEL, {"input": {"id": first["booking"]["id"]}}, token=carl.token, tenant="salon")
        again = await _book(gql, staffed.service_id, local(day, 10, 30), token=carl.token, discountCode="ONCE")

    assert [e["code"] for e in overlapping["errors"]] == ["CUSTOMER_OVERLAP"]
    assert [e["code"] for e in late_move.data["rescheduleBooking"]["errors"]] == ["RESCHEDULE_NOT_ALLOWED"]
    assert cancelled.data["cancelBooking"]["refundPercent"] is None
    assert again["errors"] == [] and again["booking"]["price"] == {"amount": 2500}
