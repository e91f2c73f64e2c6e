"""Payments outside the RQ stack: embedded mode (SQLite, no Redis) runs the same payment jobs
in-process; without a Stripe key, paid services are paid on site (the offline provider)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from boka.migrations import upgrade_to_head
from boka.models.holds import SlotHold
from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import settings_for
from tests.payments.conftest import card, stripe_settings
from tests.payments.support import CANCEL, CREATE, SET_POLICY, ledger, payment_intent_id
from tests.support import GraphQLClient, World


@pytest.fixture
async def embedded_app(tmp_path: Path, localstripe: str) -> AsyncIterator[Any]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}", redis_url=None,
        **stripe_settings(localstripe, payment_hold_seconds="1"),
    )
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def on_site_app(postgres_url: str) -> AsyncIterator[Any]:
    application = create_app(settings_for(postgres_url))  # no Stripe key
    async with application.router.lifespan_context(application):
        yield application
    from tests.conftest import _truncate_all

    await _truncate_all(application.state.runtime.settings)


async def _setup(app: Any, mode: str = "FULL"):
    world = World(app.state.runtime)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    gql = GraphQLClient(http)
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    customer = await world.person(tenant, Role.CUSTOMER)
    result = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": mode}},
                       token=owner.token, tenant="salon")
    assert result.data["setServicePaymentPolicy"]["errors"] == []
    return world, http, gql, staffed, customer


async def _book(gql: GraphQLClient, staffed: Any, customer: Any, **extra: Any) -> dict:
    result = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                          "start": local(future_day(), 10).isoformat(), **extra}},
                       token=customer.token, tenant="salon")
    return result.data["createBooking"]


async def _eventually(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.sqlite
async def test_embedded_mode_expires_unpaid_holds_in_process(
    embedded_app: Any, stripe_client: stripe.StripeClient
) -> None:
    world, http, gql, staffed, customer = await _setup(embedded_app)
    async with aclosing(http):
        payload = await _book(gql, staffed, customer)
        assert payload["booking"]["status"] == "PENDING"
        intent_id = payment_intent_id(payload["payment"]["clientSecret"])

        async def expired() -> bool:
            state = await ledger(world.runtime.database)
            return [b.status.value for b in state["bookings"]] == ["cancelled"]

        await _eventually(expired, "the in-process hold-expiry job")

        async def canceled_at_stripe() -> bool:
            return stripe_client.v1.payment_intents.retrieve(intent_id).status == "canceled"

        await _eventually(canceled_at_stripe, "the in-process cancel job")
    assert (await ledger(world.runtime.database))["history"] == ["created", "expired"]


@pytest.mark.sqlite
async def test_a_hold_expiry_that_runs_early_looks_again_when_the_hold_is_due(
    embedded_app: Any, stripe_client: stripe.StripeClient
) -> None:
    """The expiry job runs at the hold's time by the clock of whoever scheduled it; by the
    worker's clock it may be early (hosts' clocks differ). Here the hold (the booking's slot
    hold, whose expiry is the one that counts) is moved 2 s later after its job was scheduled:
    the job finds it not yet due, and looks again when it is."""
    world, http, gql, staffed, customer = await _setup(embedded_app)
    async with aclosing(http):
        payload = await _book(gql, staffed, customer)
        async with world.runtime.database.transaction(write=True) as db:
            hold = (await db.execute(sa.select(SlotHold))).scalar_one()
            hold.expires_at += timedelta(seconds=2)

        async def expired() -> bool:
            state = await ledger(world.runtime.database)
            return [b.status.value for b in state["bookings"]] == ["cancelled"]

        await asyncio.sleep(1.5)  # past the first look
        assert not await expired()
        await _eventually(expired, "the second look", timeout=10)
    assert payload["booking"]["status"] == "PENDING"


@pytest.mark.sqlite
async def test_embedded_mode_refunds_a_cancellation_in_process(
    embedded_app: Any, stripe_client: stripe.StripeClient
) -> None:
    world, http, gql, staffed, customer = await _setup(embedded_app)
    async with aclosing(http):
        payload = await _book(gql, staffed, customer, paymentMethodId=card(stripe_client, "4242424242424242"))
        assert payload["booking"]["status"] == "CONFIRMED"
        cancelled = await gql(CANCEL, {"input": {"id": payload["booking"]["id"]}},
                              token=customer.token, tenant="salon")
        assert cancelled.data["cancelBooking"]["refund"]["amount"] == 5000

        async def refunded() -> Any:
            refunds = (await ledger(world.runtime.database))["refunds"]
            return refunds and refunds[0].status == "succeeded" and refunds

        [refund] = await _eventually(refunded, "the in-process refund job")
    intent_id = payment_intent_id(payload["payment"]["clientSecret"])
    at_stripe = stripe_client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [(r.id, r.amount) for r in at_stripe] == [(refund.provider_refund_id, 5000)]


async def test_without_stripe_a_paid_service_is_due_on_site_and_confirmed_at_once(on_site_app: Any) -> None:
    world, http, gql, staffed, customer = await _setup(on_site_app)
    async with aclosing(http):
        payload = await _book(gql, staffed, customer)
        cancelled = await gql(CANCEL, {"input": {"id": payload["booking"]["id"]}},
                              token=customer.token, tenant="salon")

    assert payload["booking"]["status"] == "CONFIRMED"
    assert payload["payment"]["status"] == "due_on_site"
    assert (payload["payment"]["provider"], payload["payment"]["clientSecret"]) == ("on_site", None)
    assert cancelled.data["cancelBooking"]["errors"] == []
    state = await ledger(world.runtime.database)
    assert [p.status for p in state["payments"]] == ["canceled"]  # nothing was paid
    assert state["refunds"] == []
