"""Top-ups (the real stripe library against localstripe, in process): a move that makes a
prepaid booking dearer asks the difference as a payment of its own; a cancellation afterwards
refunds what was actually paid, out of both payments; a top-up never paid is given up at the
appointment's start and the booking stays; a later move replaces an open top-up."""

from __future__ import annotations

import uuid
from datetime import datetime, time

import stripe

from boka.models.payments import PaymentStatus
from boka.models.pricing import PricingRule
from boka.models.tenancy import Role
from boka.payments.holds import expire_payment
from boka.payments.outcomes import payment_succeeded
from tests.booking.support import BookingWorld, future_day, local
from tests.payments.conftest import card
from tests.payments.support import CANCEL, CREATE, SET_POLICY, ledger
from tests.support import GraphQLClient, World

RESCHEDULE = """mutation M($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) {
  booking { id status startTime }
  previousPrice { amount } price { amount } refund { amount } balanceDue { amount }
  topUp { id databaseId kind status clientSecret expiresAt providerPaymentId amount { amount } }
  errors { field code message } } }"""
PAYMENTS = """query { bookings(first: 5) { edges { node { id status
  payments { kind status amount { amount } refunds { amount { amount } reason } } } } } }"""


async def _salon(gql: GraphQLClient, world: World, day, **service_fields: object):  # type: ignore[no-untyped-def]
    """A service paid in full up front at 50.00, dearer in the afternoon: +20 % from 14:00,
    +40 % from 15:00; cheaper (-20 %) before 10:00."""
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(
        tenant, hours=(time(8), time(18)), **service_fields
    )
    owner = await world.person(tenant, Role.OWNER)
    policy = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "FULL"}},
                       token=owner.token, tenant="salon")
    assert policy.data["setServicePaymentPolicy"]["errors"] == []
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        for name, amount, starts, ends in (("Afternoon", 20, 14, 15), ("Late", 40, 15, 18),
                                           ("Early bird", -20, 8, 10)):
            db.add(PricingRule(tenant_id=tenant.id, name=name, kind="percent", amount=amount,
                               weekdays=[day.weekday()], starts_at=time(starts), ends_at=time(ends)))
    customer = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    return staffed, owner, customer


async def _book_paid(gql: GraphQLClient, stripe_client, staffed, customer, start) -> str:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat(),
                                          "paymentMethodId": card(stripe_client, "4242424242424242")}},
                       token=customer.token, tenant="salon")
    payload = result.data["createBooking"]
    assert payload["errors"] == [] and payload["payment"]["status"] == "succeeded", payload
    return payload["booking"]["id"]


async def _move(gql: GraphQLClient, customer, booking_id: str, start, **extra: object) -> dict:  # type: ignore[no-untyped-def]
    result = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": start.isoformat(), **extra}},
                       token=customer.token, tenant="salon")
    return result.data["rescheduleBooking"]


async def test_a_dearer_move_asks_the_difference_and_a_late_cancel_refunds_out_of_both_payments(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    day = future_day(1)
    staffed, _owner, carl = await _salon(
        gql, world, day, free_cancel_hours=48, late_cancel_refund_percent=50
    )
    booking_id = await _book_paid(gql, stripe_client, staffed, carl, local(future_day(4), 11))
    # the move is not late (the booking's start was 4 days away); the new start is inside 48 h
    moved = await _move(gql, carl, booking_id, local(day, 14),
                        paymentMethodId=card(stripe_client, "4242424242424242"))
    seen = await gql(PAYMENTS, token=carl.token, tenant="salon")
    cancelled = await gql(CANCEL, {"input": {"id": booking_id}}, token=carl.token, tenant="salon")

    assert moved["errors"] == []
    assert (moved["previousPrice"], moved["price"], moved["refund"], moved["balanceDue"]) == (
        {"amount": 5000}, {"amount": 6000}, {"amount": 0}, {"amount": 0})
    top_up = moved["topUp"]
    assert (top_up["kind"], top_up["status"], top_up["amount"]) == ("top_up", "succeeded", {"amount": 1000})
    assert stripe_client.v1.payment_intents.retrieve(top_up["providerPaymentId"]).amount == 1000
    [node] = [edge["node"] for edge in seen.data["bookings"]["edges"]]
    assert [(p["kind"], p["status"], p["amount"]["amount"]) for p in node["payments"]] == [
        ("booking", "succeeded", 5000), ("top_up", "succeeded", 1000)]
    # late: 50 % of the 60.00 actually paid, the top-up's charge first, then the booking's
    body = cancelled.data["cancelBooking"]
    assert (body["refund"]["amount"], body["refundPercent"]) == (3000, 50)
    state = await ledger(world.runtime.database)
    by_payment = {p.id: p.kind for p in state["payments"]}
    assert sorted((by_payment[r.payment_id], r.amount_cents) for r in state["refunds"]) == [
        ("booking", 2000), ("top_up", 1000)]


async def test_an_unpaid_top_up_is_given_up_at_the_start_and_the_booking_stays(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    day = future_day(3)
    staffed, _owner, carl = await _salon(gql, world, day)
    booking_id = await _book_paid(gql, stripe_client, staffed, carl, local(day, 11))

    moved = await _move(gql, carl, booking_id, local(day, 15))
    top_up = moved["topUp"]
    async with world.runtime.database.transaction(all_tenants=True, write=True) as db:
        early = await expire_payment(db, uuid.UUID(top_up["databaseId"]), now=local(day, 14))
    async with world.runtime.database.transaction(all_tenants=True, write=True) as db:
        expiry = await expire_payment(db, uuid.UUID(top_up["databaseId"]), now=local(day, 15))
    after = await gql(PAYMENTS, token=carl.token, tenant="salon")
    cancelled = await gql(CANCEL, {"input": {"id": booking_id}}, token=carl.token, tenant="salon")

    assert moved["errors"] == [] and moved["price"] == {"amount": 7000}
    assert (top_up["status"], top_up["amount"]["amount"]) == ("pending", 2000)
    assert top_up["clientSecret"]
    assert datetime.fromisoformat(top_up["expiresAt"]) == local(day, 15)  # payable until the start
    assert moved["balanceDue"] == {"amount": 2000}  # still to pay: online, or on site
    assert not early.expired and early.due_at == local(day, 15)
    assert expiry.expired and expiry.provider_payment_id == top_up["providerPaymentId"]
    [node] = [edge["node"] for edge in after.data["bookings"]["edges"]]
    assert node["status"] == "CONFIRMED"  # the booking is not lost for an unpaid difference
    assert [(p["kind"], p["status"]) for p in node["payments"]] == [
        ("booking", "succeeded"), ("top_up", "canceled")]
    # only what was actually paid goes back
    assert cancelled.data["cancelBooking"]["refund"]["amount"] == 5000
    assert (await ledger(world.runtime.database))["history"] == ["created", "paid", "rescheduled", "cancelled"]


async def test_a_later_move_replaces_the_open_top_up_and_a_cheaper_one_refunds(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    day = future_day(3)
    staffed, _owner, carl = await _salon(gql, world, day)
    booking_id = await _book_paid(gql, stripe_client, staffed, carl, local(day, 11))

    dearer = await _move(gql, carl, booking_id, local(day, 14))
    dearer_still = await _move(gql, carl, booking_id, local(day, 15))
    cheaper = await _move(gql, carl, booking_id, local(day, 8))

    assert dearer["topUp"]["amount"] == {"amount": 1000}
    assert dearer_still["topUp"]["amount"] == {"amount": 2000}  # the whole new difference
    assert dearer_still["balanceDue"] == {"amount": 2000}
    assert cheaper["topUp"] is None
    assert (cheaper["price"], cheaper["refund"], cheaper["balanceDue"]) == (
        {"amount": 4000}, {"amount": 1000}, {"amount": 0})
    state = await ledger(world.runtime.database)
    assert [(p.kind, p.status, p.amount_cents) for p in state["payments"]] == [
        ("booking", "succeeded", 5000), ("top_up", "canceled", 1000), ("top_up", "canceled", 2000)]
    [refund] = state["refunds"]
    assert (refund.amount_cents, refund.reason) == (1000, "rescheduled to a lower price")

    # the customer paid the first top-up in another tab just as it was replaced: it goes back
    async with world.runtime.database.transaction(all_tenants=True, write=True) as db:
        outcome = await payment_succeeded(
            db, "stripe", dearer["topUp"]["providerPaymentId"], now=local(day, 9))
    assert outcome.refund_id is not None
    refunds = (await ledger(world.runtime.database))["refunds"]
    assert [(r.amount_cents, r.reason) for r in refunds][-1] == (
        1000, "paid after the top-up was replaced by a later move, or had expired")


async def test_a_declined_card_for_the_top_up_refuses_the_move(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    day = future_day(3)
    staffed, _owner, carl = await _salon(gql, world, day)
    booking_id = await _book_paid(gql, stripe_client, staffed, carl, local(day, 11))

    refused = await _move(gql, carl, booking_id, local(day, 14),
                          paymentMethodId=card(stripe_client, "4000000000000341"))

    assert refused["booking"] is None and refused["topUp"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("PAYMENT_DECLINED", "paymentMethodId")]
    state = await ledger(world.runtime.database)
    [booking] = state["bookings"]
    assert booking.start_time == local(day, 11) and booking.price_cents == 5000
    assert [(p.kind, p.status) for p in state["payments"]] == [("booking", PaymentStatus.SUCCEEDED.value)]
    assert state["history"] == ["created", "paid"]
