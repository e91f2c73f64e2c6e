"""Booking policies where money was paid up front (real stripe library against localstripe):
a late move and a later cancellation cost what the policy says, and a move to a cheaper time
refunds the difference through the ledger instead of keeping it."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

import stripe

from boka.models.pricing import DiscountCode, PricingRule
from boka.models.tenancy import Role
from boka.models.types import utcnow
from boka.payments.holds import expire_payment
from tests.booking.support import BookingWorld, future_day, local
from tests.payments.conftest import card
from tests.payments.support import CANCEL, CREATE, SET_POLICY, ledger
from tests.support import GraphQLClient, World

RESCHEDULE = """mutation M($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) {
  previousPrice { amount } price { amount } fee { amount } refund { amount } balanceDue { amount }
  errors { field code } } }"""
UPDATE_SERVICE = """mutation U($input: UpdateServiceInput!) { updateService(input: $input) {
  service { cancellationPolicy { freeCancelHours lateCancelRefundPercent lateReschedule } } errors { code } } }"""


async def _paid_salon(gql: GraphQLClient, world: World, **service_fields: object):  # type: ignore[no-untyped-def]
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, **service_fields)
    owner = await world.person(tenant, Role.OWNER)
    policy = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "FULL"}},
                       token=owner.token, tenant="salon")
    assert policy.data["setServicePaymentPolicy"]["errors"] == []
    customer = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    return tenant, staffed, owner, customer


async def _book_paid(gql: GraphQLClient, stripe_client, staffed, customer, start) -> str:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat(),
                                          "paymentMethodId": card(stripe_client, "4242424242424242")}},
                       token=customer.token, tenant="salon")
    payload = result.data["createBooking"]
    assert payload["errors"] == [] and payload["payment"]["status"] == "succeeded", payload
    return payload["booking"]["id"]


async def test_move_then_cancel_inside_the_window_costs_what_the_policy_says(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    _, staffed, owner, carl = await _paid_salon(
        gql, world, free_cancel_hours=48, late_cancel_refund_percent=50, price_cents=4999
    )
    refused_by_default = await _book_paid(gql, stripe_client, staffed, carl, local(future_day(1), 10))
    far = local(future_day(22), 10).isoformat()

    refused = await gql(RESCHEDULE, {"input": {"id": refused_by_default, "start": far}},
                        token=carl.token, tenant="salon")
    late_cancel = await gql(CANCEL, {"input": {"id": refused_by_default}}, token=carl.token, tenant="salon")
    policy = await gql(UPDATE_SERVICE, {"input": {"id": staffed.service_id,
                                                  "cancellationPolicy": {"lateReschedule": "FEE"}}},
                       token=owner.token, tenant="salon")
    moved_for_a_fee = await _book_paid(gql, stripe_client, staffed, carl, local(future_day(1), 14))
    moved = await gql(RESCHEDULE, {"input": {"id": moved_for_a_fee, "start": far}}, token=carl.token, tenant="salon")
    cancelled = await gql(CANCEL, {"input": {"id": moved_for_a_fee}}, token=carl.token, tenant="salon")

    # refused: the booking stays inside the window, and cancelling it is late (50 %, rounded down)
    assert [e["code"] for e in refused.data["rescheduleBooking"]["errors"]] == ["RESCHEDULE_NOT_ALLOWED"]
    assert late_cancel.data["cancelBooking"]["refund"]["amount"] == 2499
    assert late_cancel.data["cancelBooking"]["refundPercent"] == 50
    assert policy.data["updateService"]["service"]["cancellationPolicy"] == {
        "freeCancelHours": 48, "lateCancelRefundPercent": 50, "lateReschedule": "FEE"}
    # for a fee: what a late cancellation keeps goes onto the price and stays due
    assert moved.data["rescheduleBooking"] == {
        "previousPrice": {"amount": 4999}, "price": {"amount": 7499}, "fee": {"amount": 2500},
        "refund": {"amount": 0}, "balanceDue": {"amount": 2500}, "errors": [],
    }
    # cancelled three weeks ahead of the new time: free, but the fee is kept, so moving first
    # cost exactly what cancelling late straight away did
    assert cancelled.data["cancelBooking"]["refundPercent"] == 100
    assert cancelled.data["cancelBooking"]["refund"]["amount"] == 4999 - 2500 == 2499
    refunds = (await ledger(world.runtime.database))["refunds"]
    assert sorted(refund.amount_cents for refund in refunds) == [2499, 2499]


async def test_a_move_to_a_cheaper_time_refunds_the_difference(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    tenant, staffed, _owner, carl = await _paid_salon(gql, world, price_cents=10000)
    day = future_day(4)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(PricingRule(tenant_id=tenant.id, name="Early bird", kind="percent", amount=-20,
                           weekdays=[day.weekday()], starts_at=time(9), ends_at=time(11)))
    booking_id = await _book_paid(gql, stripe_client, staffed, carl, local(day, 13))

    moved = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": local(day, 9).isoformat()}},
                      token=carl.token, tenant="salon")
    cancelled = await gql(CANCEL, {"input": {"id": booking_id}}, token=carl.token, tenant="salon")

    assert moved.data["rescheduleBooking"] == {
        "previousPrice": {"amount": 10000}, "price": {"amount": 8000}, "fee": {"amount": 0},
        "refund": {"amount": 2000}, "balanceDue": {"amount": 0}, "errors": [],
    }
    # the cancellation refunds what is still paid, never what already went back
    assert cancelled.data["cancelBooking"]["refund"]["amount"] == 8000
    refunds = (await ledger(world.runtime.database))["refunds"]
    assert [(r.amount_cents, r.reason) for r in refunds] == [
        (2000, "rescheduled to a lower price"), (8000, "cancellation (100% under the policy)")]


async def test_an_expired_unpaid_hold_gives_its_discount_use_back(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    tenant, staffed, _owner, carl = await _paid_salon(gql, world)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(DiscountCode(tenant_id=tenant.id, code="ONCE", kind="percent", value=50, max_uses=1))
    held = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "discountCode": "ONCE",
                                        "start": local(future_day(), 10).isoformat()}},
                     token=carl.token, tenant="salon")
    payment = held.data["createBooking"]["payment"]
    assert held.data["createBooking"]["booking"]["status"] == "PENDING"

    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        expiry = await expire_payment(db, uuid.UUID(payment["databaseId"]), now=utcnow() + timedelta(days=1))
    again = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "discountCode": "ONCE",
                                         "start": local(future_day(), 12).isoformat()}},
                      token=carl.token, tenant="salon")

    assert expiry.expired
    assert again.data["createBooking"]["errors"] == []
    assert (await ledger(world.runtime.database))["history"][:2] == ["created", "expired"]
