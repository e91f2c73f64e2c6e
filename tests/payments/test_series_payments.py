"""A booking series of a service paid up front, with the real stripe library against
localstripe: each occurrence is a booking of its own with its own payment (a PaymentIntent per
occurrence), and cancelling the series gives up each unpaid payment as cancelBooking does; a
series refused whole leaves no payment in the ledger."""

from __future__ import annotations

from datetime import timedelta

import stripe

from boka.models.payments import PaymentStatus
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.payments.support import CREATE, SET_POLICY, ledger, payment_intent_id
from tests.support import GraphQLClient, World

SERIES = """mutation Series($input: CreateBookingSeriesInput!) {
  createBookingSeries(input: $input) {
    series { id }
    occurrences { index booking { id status price { amount } } payment { status amount { amount } clientSecret } }
    errors { field code reasons } } }"""
CANCEL_SERIES = """mutation Cancel($input: CancelBookingSeriesInput!) {
  cancelBookingSeries(input: $input) { cancelled { status } refund { amount } errors { code } } }"""


async def test_each_occurrence_has_its_own_payment(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    policy = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "DEPOSIT",
                                              "depositPercent": 20}}, token=owner.token, tenant="salon")
    assert policy.data["setServicePaymentPolicy"]["errors"] == []
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    first = local(future_day(3), 10)
    series_input = {"serviceId": staffed.service_id, "start": first.isoformat(),
                    "recurrence": {"frequency": "WEEKLY", "count": 3}}

    # someone takes the third date: ALL_OR_NOTHING books nothing and leaves no payment
    taken = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                         "start": (first + timedelta(weeks=2)).isoformat()}},
                      token=(await world.person(tenant, Role.CUSTOMER)).token, tenant="salon")
    assert taken.data["createBooking"]["errors"] == []
    refused = await gql(SERIES, {"input": {**series_input, "mode": "ALL_OR_NOTHING"}},
                        token=carl.token, tenant="salon")
    assert [(e["field"], e["code"]) for e in refused.data["createBookingSeries"]["errors"]] == [
        ("occurrences.2", "SLOT_UNAVAILABLE")]
    assert len((await ledger(world.runtime.database))["payments"]) == 1  # the other booking's

    booked = await gql(SERIES, {"input": {**series_input, "mode": "BOOKABLE_ONLY"}},
                       token=carl.token, tenant="salon")
    payload = booked.data["createBookingSeries"]
    assert payload["errors"] == [], booked.body
    made = [o for o in payload["occurrences"] if o["booking"]]
    assert [o["index"] for o in made] == [0, 1]
    assert all(o["booking"]["status"] == "PENDING" for o in made)  # held until paid
    assert [o["payment"]["amount"]["amount"] for o in made] == [1000, 1000]  # 20 % of 50.00 each
    intents = {payment_intent_id(o["payment"]["clientSecret"]) for o in made}
    assert len(intents) == 2
    for intent_id in intents:
        assert stripe_client.v1.payment_intents.retrieve(intent_id).amount == 1000

    cancelled = await gql(CANCEL_SERIES, {"input": {"seriesId": payload["series"]["id"]}},
                          token=carl.token, tenant="salon")
    result = cancelled.data["cancelBookingSeries"]
    assert result["errors"] == [], cancelled.body
    assert [b["status"] for b in result["cancelled"]] == ["CANCELLED", "CANCELLED"]
    assert result["refund"] == {"amount": 0}  # nothing had been paid
    state = await ledger(world.runtime.database)
    mine = [p for p in state["payments"] if p.provider_payment_id in intents]
    assert {p.status for p in mine} == {PaymentStatus.CANCELED.value}
