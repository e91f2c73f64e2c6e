"""The whole paid-booking story across real processes: the app under uvicorn, ``worker.py``
draining the RQ queues (and running the event relay), localstripe delivering signed webhooks
over HTTP, and a real SMTP server receiving the customer's mail.

createBooking → PaymentIntent → the customer pays (the stripe library against localstripe) →
payment_intent.succeeded webhook → job → booking confirmed → confirmation email with its
invite, and a receipt → cancellation → refund job → refund at Stripe and in the ledger →
cancellation and refund emails. And an unpaid hold that expires frees its slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import time as clock
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from boka.jobs.context import bind_runtime, unbind_runtime
from boka.jobs.payments import expire_payment_hold
from boka.models.payments import PaymentEvent
from boka.models.pricing import PricingRule
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL
from tests.jobs.workers import worker_env, worker_process
from tests.notifications.servers import SmtpServer
from tests.notifications.support import parse_event
from tests.payments.conftest import pay_with_card, register_webhook, stripe_settings
from tests.payments.support import CANCEL, CREATE, SET_POLICY, ledger, payment_intent_id
from tests.servers import clean_env, uvicorn_server
from tests.support import GraphQLClient, World

BOOKINGS = "{ bookings(first: 10) { edges { node { id status } } } }"
LEDGER = """{ bookings(first: 10) { edges { node {
  payments { kind status amount { amount } providerPaymentId
             refunds { status amount { amount } providerRefundId } } } } } }"""
TOP_UP_MOVE = """mutation M($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) {
  balanceDue { amount } topUp { kind status clientSecret } errors { code message } } }"""
SLOTS = """
query Slots($service: ID!, $from: DateTime!, $to: DateTime!) {
  availability(serviceId: $service, from: $from, to: $to) { start }
}"""


@dataclass
class Stack:
    gql: GraphQLClient
    base: str


def _settings(postgres_url: str, localstripe: str, **settings: str) -> dict[str, str]:
    return {"database_url": postgres_url, **stripe_settings(localstripe), **settings}


@contextmanager
def running_app(postgres_url: str, localstripe: str, tmp_path: Path, **settings: str) -> Iterator[str]:
    """The app under uvicorn, sharing the test database, Redis and localstripe, which
    delivers its webhooks to it."""
    env = clean_env(redis_url=TEST_REDIS_URL, **_settings(postgres_url, localstripe, **settings))
    with uvicorn_server(env, tmp_path / "app.log") as base:
        register_webhook(localstripe, f"{base}/webhooks/stripe")
        yield base


@contextmanager
def running_worker(postgres_url: str, localstripe: str, tmp_path: Path, **settings: str) -> Iterator[None]:
    env = worker_env(TEST_REDIS_URL, **_settings(postgres_url, localstripe, **settings))
    with worker_process(env, tmp_path / "worker.log"):
        yield


@contextmanager
def running_stack(postgres_url: str, localstripe: str, tmp_path: Path, **settings: str) -> Iterator[str]:
    """uvicorn (the app) + worker.py."""
    with running_app(postgres_url, localstripe, tmp_path, **settings) as base:
        with running_worker(postgres_url, localstripe, tmp_path, **settings):
            yield base


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[str], GraphQLClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(base: str) -> GraphQLClient:
        clients.append(httpx.AsyncClient(base_url=base, timeout=30))
        return GraphQLClient(clients[-1])

    yield make
    for client in clients:
        await client.aclose()


async def eventually(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _paid_salon(world: World, gql: GraphQLClient):
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    customer = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    policy = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "FULL"}},
                       token=owner.token, tenant="salon")
    assert policy.data["setServicePaymentPolicy"]["errors"] == []
    return staffed, customer


async def _status(gql: GraphQLClient, token: str) -> str:
    result = await gql(BOOKINGS, token=token, tenant="salon")
    [edge] = result.data["bookings"]["edges"]
    return edge["node"]["status"]


async def _mail(smtp: SmtpServer, subject_start: str) -> Any:
    async def arrived() -> Any:
        return [m for m in smtp.sink.to("carl@example.com") if m.subject.startswith(subject_start)]

    [mail] = await eventually(arrived, f"the '{subject_start}' email")
    return mail


async def test_a_paid_booking_is_confirmed_by_the_webhook_and_refunded_on_cancellation(
    world: World, postgres_url: str, localstripe: str, stripe_client: stripe.StripeClient,
    client_for: Callable[[str], GraphQLClient], tmp_path: Path, smtp: SmtpServer,
) -> None:
    mail_settings = {"smtp_host": smtp.host, "smtp_port": str(smtp.port), "smtp_security": "none"}
    with running_stack(postgres_url, localstripe, tmp_path, **mail_settings) as base:
        gql = client_for(base)
        staffed, customer = await _paid_salon(world, gql)
        start = local(future_day(), 10)

        booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                           token=customer.token, tenant="salon")
        payload = booked.data["createBooking"]
        assert payload["errors"] == [] and payload["booking"]["status"] == "PENDING"
        intent_id = payment_intent_id(payload["payment"]["clientSecret"])

        pay_with_card(stripe_client, intent_id)  # the customer pays in the browser

        await eventually(lambda: _is(gql, customer.token, "CONFIRMED"), "the webhook to confirm")
        state = await ledger(world.runtime.database)
        [payment] = state["payments"]
        assert (payment.status, payment.amount_cents, payment.provider_payment_id) == ("succeeded", 5000, intent_id)
        async with world.runtime.database.transaction(all_tenants=True) as db:
            events = (await db.execute(sa.select(PaymentEvent))).scalars().all()
        assert [(e.type, e.outcome) for e in events] == [("payment_intent.succeeded", "booking confirmed")]
        confirmation = await _mail(smtp, "Booking confirmed: ")
        calendar, invite = parse_event(confirmation.calendar_parts()[0])
        assert calendar["METHOD"] == "REQUEST" and str(invite["STATUS"]) == "CONFIRMED"
        assert invite["DTSTART"].dt == start.astimezone(UTC)
        receipt = await _mail(smtp, "Receipt: ")
        assert "50.00" in receipt.text

        cancelled = await gql(CANCEL, {"input": {"id": payload["booking"]["id"], "reason": "ill"}},
                              token=customer.token, tenant="salon")
        body = cancelled.data["cancelBooking"]
        assert body["errors"] == []
        assert (body["refund"], body["refundPercent"]) == ({"amount": 5000, "currency": "EUR"}, 100)

        async def refunded() -> Any:
            refunds = (await ledger(world.runtime.database))["refunds"]
            return refunds and refunds[0].status == "succeeded" and refunds

        [refund] = await eventually(refunded, "the refund job")
        assert (refund.amount_cents, refund.currency) == (5000, "EUR")
        at_stripe = stripe_client.v1.refunds.list(params={"payment_intent": intent_id}).data
        assert [(r.id, r.amount) for r in at_stripe] == [(refund.provider_refund_id, 5000)]
        assert (await ledger(world.runtime.database))["history"] == ["created", "paid", "cancelled"]
        cancellation = await _mail(smtp, "Booking cancelled: ")
        calendar, invite = parse_event(cancellation.calendar_parts()[0])
        assert calendar["METHOD"] == "CANCEL" and invite["SEQUENCE"] == 1
        refund_mail = await _mail(smtp, "Refund: ")
        assert "50.00" in refund_mail.text
        seen = await gql(LEDGER, token=customer.token, tenant="salon")
        assert seen.data["bookings"]["edges"][0]["node"]["payments"] == [{
            "kind": "booking", "status": "succeeded", "amount": {"amount": 5000},
            "providerPaymentId": intent_id,
            "refunds": [{"status": "succeeded", "amount": {"amount": 5000},
                         "providerRefundId": refund.provider_refund_id}],
        }]


async def _is(gql: GraphQLClient, token: str, status: str) -> bool:
    return await _status(gql, token) == status


async def test_an_unpaid_hold_expires_and_frees_the_slot_and_a_late_payment_is_refunded(
    world: World, postgres_url: str, localstripe: str, stripe_client: stripe.StripeClient,
    client_for: Callable[[str], GraphQLClient], tmp_path: Path,
) -> None:
    with running_stack(postgres_url, localstripe, tmp_path, payment_hold_seconds="3") as base:
        gql = client_for(base)
        staffed, customer = await _paid_salon(world, gql)
        day = future_day()
        start = local(day, 10)
        window = {"service": staffed.service_id, "from": local(day, 0).isoformat(),
                  "to": local(day, 23, 59).isoformat()}

        async def free_starts() -> set[str]:
            result = await gql(SLOTS, window, tenant="salon")
            return {slot["start"] for slot in result.data["availability"]}

        booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                           token=customer.token, tenant="salon")
        payload = booked.data["createBooking"]
        intent_id = payment_intent_id(payload["payment"]["clientSecret"])
        assert start.isoformat() not in await free_starts()  # held while unpaid

        await eventually(lambda: _is(gql, customer.token, "CANCELLED"), "the hold to expire")

        assert start.isoformat() in await free_starts()
        state = await ledger(world.runtime.database)
        assert [p.status for p in state["payments"]] == ["canceled"]
        assert state["history"] == ["created", "expired"]
        assert state["bookings"][0].cancellation_reason == "Not paid in time."

        async def intent_canceled() -> bool:
            return stripe_client.v1.payment_intents.retrieve(intent_id).status == "canceled"

        await eventually(intent_canceled, "the PaymentIntent to be cancelled at Stripe")


async def test_money_arriving_after_the_hold_expired_is_refunded_in_full(
    world: World, postgres_url: str, localstripe: str, stripe_client: stripe.StripeClient,
    client_for: Callable[[str], GraphQLClient], tmp_path: Path,
) -> None:
    """The customer confirmed in their browser just as the hold expired: the money arrives for
    a booking that no longer holds its slot, and goes back in full. Ordered by hand: the
    hold expires (in this process) before the worker starts, then the customer pays."""
    with running_app(postgres_url, localstripe, tmp_path, payment_hold_seconds="1") as base:
        gql = client_for(base)
        staffed, customer = await _paid_salon(world, gql)
        start = local(future_day(), 10)
        booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                           token=customer.token, tenant="salon")
        payment = booked.data["createBooking"]["payment"]
        intent_id = payment_intent_id(payment["clientSecret"])
        await asyncio.sleep(1.1)  # past expiresAt: the hold may expire now
        token = bind_runtime(world.runtime)  # run the job function here, on this runtime
        try:
            assert await expire_payment_hold(payment["databaseId"]) == "expired"
        finally:
            unbind_runtime(token)

        pay_with_card(stripe_client, intent_id)  # Stripe takes the money all the same

        async def event_stored() -> bool:
            async with world.runtime.database.transaction(all_tenants=True) as db:
                return bool((await db.execute(sa.select(PaymentEvent))).scalars().all())

        await eventually(event_stored, "the webhook")
        with running_worker(postgres_url, localstripe, tmp_path):

            async def refunded() -> Any:
                refunds = (await ledger(world.runtime.database))["refunds"]
                return refunds and refunds[0].status == "succeeded" and refunds

            [refund] = await eventually(refunded, "the refund of the late payment")
        assert refund.amount_cents == 5000
        assert refund.reason == "paid after the booking was cancelled"
        assert await _status(gql, customer.token) == "CANCELLED"
        state = await ledger(world.runtime.database)
        assert [p.status for p in state["payments"]] == ["succeeded"]
        assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "succeeded"



async def test_a_top_up_is_confirmed_by_the_webhook_and_refunded_with_the_booking_payment(
    world: World, postgres_url: str, localstripe: str, stripe_client: stripe.StripeClient,
    client_for: Callable[[str], GraphQLClient], tmp_path: Path,
) -> None:
    """Paid 50.00, moved to an afternoon that costs 60.00: the 10.00 difference is a top-up
    PaymentIntent the customer pays in the browser; the webhook and the worker record it like
    the first payment; the cancellation refunds both charges at Stripe."""
    with running_stack(postgres_url, localstripe, tmp_path) as base:
        gql = client_for(base)
        staffed, customer = await _paid_salon(world, gql)
        day = future_day()
        async with world.runtime.database.transaction(all_tenants=True, write=True) as db:
            db.add(PricingRule(tenant_id=staffed.service.tenant_id, name="Afternoon", kind="percent",
                               amount=20, weekdays=[day.weekday()], starts_at=clock(14), ends_at=clock(17)))
        booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                              "start": local(day, 10).isoformat()}},
                           token=customer.token, tenant="salon")
        payload = booked.data["createBooking"]
        first_intent = payment_intent_id(payload["payment"]["clientSecret"])
        pay_with_card(stripe_client, first_intent)
        await eventually(lambda: _is(gql, customer.token, "CONFIRMED"), "the webhook to confirm")

        moved = await gql(TOP_UP_MOVE, {"input": {"id": payload["booking"]["id"],
                                                  "start": local(day, 14).isoformat()}},
                          token=customer.token, tenant="salon")
        body = moved.data["rescheduleBooking"]
        assert body["errors"] == [] and body["balanceDue"] == {"amount": 1000}
        assert (body["topUp"]["kind"], body["topUp"]["status"]) == ("top_up", "pending")
        top_up_intent = payment_intent_id(body["topUp"]["clientSecret"])
        pay_with_card(stripe_client, top_up_intent)  # the customer pays the difference

        async def top_up_paid() -> Any:
            payments = (await ledger(world.runtime.database))["payments"]
            return [p.status for p in payments] == ["succeeded", "succeeded"] and payments

        await eventually(top_up_paid, "the webhook to record the top-up")
        assert await _status(gql, customer.token) == "CONFIRMED"
        async with world.runtime.database.transaction(all_tenants=True) as db:
            events = (await db.execute(sa.select(PaymentEvent).order_by(PaymentEvent.received_at))).scalars().all()
        assert [(e.type, e.outcome) for e in events] == [
            ("payment_intent.succeeded", "booking confirmed"), ("payment_intent.succeeded", "paid")]

        cancelled = await gql(CANCEL, {"input": {"id": payload["booking"]["id"]}},
                              token=customer.token, tenant="salon")
        assert cancelled.data["cancelBooking"]["refund"] == {"amount": 6000, "currency": "EUR"}

        async def refunded() -> Any:
            refunds = (await ledger(world.runtime.database))["refunds"]
            return len(refunds) == 2 and all(r.status == "succeeded" for r in refunds) and refunds

        await eventually(refunded, "both refunds")
        at_stripe = {
            intent: [r.amount for r in stripe_client.v1.refunds.list(params={"payment_intent": intent}).data]
            for intent in (first_intent, top_up_intent)
        }
        assert at_stripe == {first_intent: [5000], top_up_intent: [1000]}
        assert (await ledger(world.runtime.database))["history"] == ["created", "paid", "rescheduled", "cancelled"]
