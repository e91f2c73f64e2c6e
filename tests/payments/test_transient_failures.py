"""A refund while Stripe is unreachable: the job fails, is retried with backoff by the worker,
and succeeds once Stripe answers again; the refund happens once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import stripe
from redis import Redis
from rq.job import Job

from boka.jobs.queues import safe_job_id
from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL, _truncate_all, settings_for
from tests.jobs.workers import worker_env, worker_process
from tests.payments.conftest import card, stripe_settings
from tests.payments.network import relay_to
from tests.payments.support import CANCEL, CREATE, SET_POLICY, ledger, payment_intent_id
from tests.support import GraphQLClient, World


async def _eventually(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_refund_is_retried_with_backoff_until_stripe_answers(
    postgres_url: str, localstripe: str, stripe_client: stripe.StripeClient, tmp_path: Path
) -> None:
    Redis.from_url(TEST_REDIS_URL).flushdb()
    with relay_to(localstripe) as relay:
        through_relay = stripe_settings(relay.url)
        app = create_app(settings_for(postgres_url, **through_relay))
        async with app.router.lifespan_context(app):
            world = World(app.state.runtime)
            tenant = await world.tenant("salon", time_zone="Europe/Berlin")
            staffed = await BookingWorld(world).staffed_service(tenant)
            owner = await world.person(tenant, Role.OWNER)
            customer = await world.person(tenant, Role.CUSTOMER)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                gql = GraphQLClient(http)
                await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "FULL"}},
                          token=owner.token, tenant="salon")
                booked = (await gql(CREATE, {"input": {
                    "serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                    "paymentMethodId": card(stripe_client, "4242424242424242"),
                }}, token=customer.token, tenant="salon")).data["createBooking"]
                assert booked["booking"]["status"] == "CONFIRMED"

                relay.cut = True  # Stripe becomes unreachable
                cancelled = await gql(CANCEL, {"input": {"id": booked["booking"]["id"]}},
                                      token=customer.token, tenant="salon")
                assert cancelled.data["cancelBooking"]["errors"] == []
            [refund] = (await ledger(world.runtime.database))["refunds"]
            job = Job.fetch(safe_job_id(f"refund:{refund.id}"), connection=Redis.from_url(TEST_REDIS_URL))
            env = worker_env(TEST_REDIS_URL, database_url=postgres_url, **through_relay)
            with worker_process(env, tmp_path / "worker.log"):

                async def retried() -> bool:
                    job.refresh()
                    return job.retries_left is not None and job.retries_left < 6

                await _eventually(retried, "the first attempt to fail")
                assert (await ledger(world.runtime.database))["refunds"][0].status == "pending"
                relay.cut = False  # Stripe is back

                async def refunded() -> Any:
                    refunds = (await ledger(world.runtime.database))["refunds"]
                    return refunds[0].status == "succeeded" and refunds

                [done] = await _eventually(refunded, "the retry to succeed")
        await _truncate_all(app.state.runtime.settings)

    intent_id = payment_intent_id(booked["payment"]["clientSecret"])
    at_stripe = stripe_client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [(r.id, r.amount) for r in at_stripe] == [(done.provider_refund_id, 5000)]
    assert "Stripe is unavailable" in (tmp_path / "worker.log").read_text()
