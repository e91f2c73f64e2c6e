"""/webhooks/stripe: signatures, each event processed once, duplicates and out-of-order events
tolerated, refunds made at Stripe reconciled into the ledger. Event bodies wrap real objects
fetched from localstripe, signed with the endpoint secret as Stripe signs them; a burst
``worker.py`` runs the jobs."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from boka.models.payments import PaymentEvent
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL
from tests.jobs.workers import run_worker, worker_env
from tests.payments.conftest import WEBHOOK_SECRET, pay_with_card, stripe_settings
from tests.payments.support import CREATE, SET_POLICY, ledger, payment_intent_id
from tests.support import GraphQLClient, World


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    signature = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload), hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


def event(type_: str, obj: Any) -> dict[str, Any]:
    return {"id": f"evt_{uuid.uuid4().hex[:16]}", "object": "event", "type": type_,
            "created": int(time.time()), "data": {"object": obj.to_dict() if hasattr(obj, "to_dict") else obj}}


async def post(http: httpx.AsyncClient, body: dict[str, Any], secret: str = WEBHOOK_SECRET) -> httpx.Response:
    payload, headers = signed(body, secret)
    return await http.post("/webhooks/stripe", content=payload, headers=headers)


def drain_jobs(postgres_url: str, localstripe: str) -> None:
    finished = run_worker("--burst", env=worker_env(
        TEST_REDIS_URL, database_url=postgres_url, **stripe_settings(localstripe)
    ))
    assert finished.returncode == 0, finished.stderr[-2000:]


async def _pending_paid_booking(gql: GraphQLClient, world: World) -> tuple[str, str]:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    customer = await world.person(tenant, Role.CUSTOMER)
    await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "FULL"}},
              token=owner.token, tenant="salon")
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                          "start": local(future_day(), 10).isoformat()}},
                       token=customer.token, tenant="salon")
    payload = booked.data["createBooking"]
    return payload["booking"]["id"], payment_intent_id(payload["payment"]["clientSecret"])


async def _events(world: World) -> list[tuple[str, str | None]]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        rows = (await db.execute(sa.select(PaymentEvent).order_by(PaymentEvent.received_at))).scalars()
        return [(row.type, row.outcome) for row in rows]


async def test_an_unsigned_or_wrongly_signed_event_is_refused(http: httpx.AsyncClient, world: World) -> None:
    body = event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})

    wrong = await post(http, body, secret="whsec_someone_else")
    unsigned = await http.post("/webhooks/stripe", content=json.dumps(body))

    assert (wrong.status_code, unsigned.status_code) == (400, 400)
    assert await _events(world) == []


async def test_a_duplicate_event_is_processed_once_and_a_late_failure_changes_nothing(
    http: httpx.AsyncClient, gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient,
    postgres_url: str, localstripe: str,
) -> None:
    _booking_id, intent_id = await _pending_paid_booking(gql, world)
    pay_with_card(stripe_client, intent_id)
    intent = stripe_client.v1.payment_intents.retrieve(intent_id)
    succeeded = event("payment_intent.succeeded", intent)

    first = await post(http, succeeded)
    again = await post(http, succeeded)  # Stripe redelivers
    drain_jobs(postgres_url, localstripe)
    late_failure = await post(http, event("payment_intent.payment_failed", intent))
    drain_jobs(postgres_url, localstripe)

    assert [r.status_code for r in (first, again, late_failure)] == [200, 200, 200]
    assert await _events(world) == [
        ("payment_intent.succeeded", "booking confirmed"),
        ("payment_intent.payment_failed", "ignored: payment already succeeded"),
    ]
    state = await ledger(world.runtime.database)
    assert [b.status.value for b in state["bookings"]] == ["confirmed"]
    assert [p.status for p in state["payments"]] == ["succeeded"]
    assert state["history"] == ["created", "paid"]


async def test_a_failed_payment_is_recorded_and_the_booking_stays_held(
    http: httpx.AsyncClient, gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient,
    postgres_url: str, localstripe: str,
) -> None:
    _booking_id, intent_id = await _pending_paid_booking(gql, world)
    with pytest.raises(stripe.CardError):
        pay_with_card(stripe_client, intent_id, number="4000000000000341")  # declined
    declined = stripe_client.v1.payment_intents.retrieve(intent_id)

    await post(http, event("payment_intent.payment_failed", declined))
    drain_jobs(postgres_url, localstripe)

    state = await ledger(world.runtime.database)
    [payment] = state["payments"]
    assert (payment.status, payment.failure_code) == ("failed", "card_declined")
    assert payment.failure_message == "Your card was declined."
    # still held until the hold expires: the customer may try another card
    assert [b.status.value for b in state["bookings"]] == ["pending"]
    assert await _events(world) == [("payment_intent.payment_failed", "payment failed")]


async def test_a_refund_made_at_stripe_enters_the_ledger_once(
    http: httpx.AsyncClient, gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient,
    postgres_url: str, localstripe: str,
) -> None:
    _booking_id, intent_id = await _pending_paid_booking(gql, world)
    pay_with_card(stripe_client, intent_id)
    await post(http, event("payment_intent.succeeded", stripe_client.v1.payment_intents.retrieve(intent_id)))
    made_at_stripe = stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1200})
    charge = stripe_client.v1.charges.retrieve(made_at_stripe.charge)
    refunded = event("charge.refunded", {**charge.to_dict(), "refunds": {
        "object": "list", "data": [r.to_dict() for r in stripe_client.v1.refunds.list(
            params={"payment_intent": intent_id}).data],
    }})

    await post(http, refunded)
    await post(http, {**refunded, "id": refunded["id"]})
    drain_jobs(postgres_url, localstripe)

    state = await ledger(world.runtime.database)
    assert [(r.provider_refund_id, r.amount_cents, r.status, r.reason) for r in state["refunds"]] == [
        (made_at_stripe.id, 1200, "succeeded", "refunded at the provider"),
    ]


async def test_an_event_for_a_payment_not_in_the_ledger_yet_is_retried_and_a_foreign_one_ignored(
    http: httpx.AsyncClient, world: World, stripe_client: stripe.StripeClient,
    postgres_url: str, localstripe: str,
) -> None:
    # Ours by its metadata, but the booking's transaction has not committed (or never will).
    early = stripe_client.v1.payment_intents.create(params={
        "amount": 700, "currency": "eur",
        "metadata": {"tenant_id": str(uuid.uuid4()), "booking_id": str(uuid.uuid4()),
                     "payment_id": str(uuid.uuid4())},
    })
    foreign = stripe_client.v1.payment_intents.create(params={"amount": 900, "currency": "eur"})

    await post(http, event("payment_intent.succeeded", early))
    await post(http, event("payment_intent.succeeded", foreign))
    drain_jobs(postgres_url, localstripe)

    assert sorted(await _events(world), key=str) == sorted(
        [("payment_intent.succeeded", None), ("payment_intent.succeeded", "unknown payment")], key=str
    )
