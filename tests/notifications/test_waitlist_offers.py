"""The waitlist end to end across real processes: this process serves the API (ASGI) and a
websocket subscriber; ``worker.py`` runs the event relay and the RQ jobs; a real SMTP server
(aiosmtpd) receives the mail. A cancellation's ``availability.changed`` reaches the waitlist's
consumer, whose job holds the hour for the first in line; ``waitlist.offered`` sends the offer
with its claim link and schedules its expiry; the emailed link claims it. An offer whose expiry
job comes due releases the hour, and the next in line gets it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from boka.config import Settings
from boka.models.tenancy import Role
from boka.models.webhooks import WebhookDelivery
from tests.booking.waitlist_support import (
    BY_LINK,
    CLAIM,
    cancel_the_booking,
    event_types,
    join,
    offers,
    raw_id,
    salon_with_a_full_morning,
)
from tests.conftest import TEST_REDIS_URL, execute_as_owner
from tests.events.support import CREATE_ENDPOINT, live_socket, next_payload, subscribe
from tests.jobs.workers import worker_env, worker_process
from tests.notifications.servers import SmtpServer
from tests.support import GraphQLClient, World

WAITLIST_OFFER = """
subscription { waitlistOffer { eventId type offer { id status booking { id status startTime } } } }"""
CLAIM_LINK = re.compile(r"https://book\.salon\.example/waitlist/offer/(wlo_[A-Za-z0-9_.-]+)\?tenant=salon")


@pytest.fixture
def worker(settings: Settings, smtp: SmtpServer, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    env = worker_env(
        TEST_REDIS_URL, database_url=settings.database_url, smtp_host=smtp.host,
        smtp_port=str(smtp.port), smtp_security="none", email_from=settings.email_from,
        public_url=settings.public_url,
    )
    with worker_process(env, log):
        yield log


async def eventually(check: Callable[[], Any], what: str, log: Path, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def mail_to(smtp: SmtpServer, address: str, subject_start: str) -> Callable[[], Any]:
    def find() -> Any:
        return next((m for m in smtp.sink.to(address) if m.subject.startswith(subject_start)), None)
    return find


async def test_a_cancelled_slot_is_offered_to_the_waitlist_and_claimed_through_the_emailed_link(
    app: Any, gql: GraphQLClient, http: httpx.AsyncClient, world: World, smtp: SmtpServer, worker: Path,
) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    hooked = await gql(CREATE_ENDPOINT, {"input": {"url": "https://hooks.example.com/boka",
                                                   "eventTypes": ["waitlist.*"]}},
                       token=salon.owner.token, tenant="salon")
    assert hooked.data["createWebhookEndpoint"]["errors"] == []
    async with live_socket(app, token=ann.token) as ws:
        await subscribe(ws, "offers", WAITLIST_OFFER)
        joined = await join(gql, salon, token=ann.token)
        assert joined["errors"] == []
        await cancel_the_booking(gql, salon)

        offer_mail = await eventually(mail_to(smtp, "ann@example.com", "A time opened up"), "the offer mail", worker)
        pushed = await next_payload(ws, timeout=30)

    token = CLAIM_LINK.search(offer_mail.text).group(1)  # type: ignore[union-attr]
    page = await http.get(f"/waitlist/offer/{token}?tenant=salon")
    seen = await gql(BY_LINK, {"token": token}, tenant="salon")  # the page, as a guest
    claimed = await gql(CLAIM, {"input": {"token": token}}, tenant="salon")
    confirmation = await eventually(mail_to(smtp, "ann@example.com", "Booking confirmed"), "the confirmation", worker)

    assert "Haircut with Staff 0" in offer_mail.text and "10:00-11:00 (Europe/Berlin)" in offer_mail.text
    assert "We hold it for you until" in offer_mail.text
    assert pushed["type"] == "next" and pushed["id"] == "offers"
    event = pushed["payload"]["data"]["waitlistOffer"]
    assert event["type"] == "waitlist.offered" and event["offer"]["booking"]["status"] == "PENDING"
    assert page.status_code == 200 and "waitlist-offer.js" in page.text
    assert seen.data["waitlistOfferByLink"]["status"] == "OPEN"
    assert seen.data["waitlistOfferByLink"]["booking"]["service"]["name"] == "Haircut"
    payload = claimed.data["claimWaitlistOffer"]
    assert payload["errors"] == [] and payload["offer"]["status"] == "CLAIMED"
    assert payload["booking"]["status"] == "CONFIRMED"
    assert raw_id(payload["offer"]["id"]) == raw_id(event["offer"]["id"])
    assert confirmation.calendar_parts()  # the ordinary confirmation, with its invite
    assert len([m for m in smtp.sink.to("ann@example.com") if m.subject.startswith("A time opened up")]) == 1
    assert await event_types(world) == ["waitlist.joined", "waitlist.offered", "waitlist.claimed"]

    async def webhook_deliveries() -> list[str]:
        async with world.runtime.database.transaction(all_tenants=True) as db:
            rows = await db.execute(sa.select(WebhookDelivery.event_type).order_by(WebhookDelivery.created_at))
            found = list(rows.scalars())
        return found if len(found) == 3 else []

    assert await eventually(webhook_deliveries, "the webhook deliveries", worker) == [
        "waitlist.joined", "waitlist.offered", "waitlist.claimed"]


def _due_now(redis: Redis, prefix: str) -> list[str]:
    """Move the scheduled jobs whose id starts with ``prefix`` to their queue (time passes)."""
    moved = []
    queue = Queue("high", connection=redis)
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        if job_id.startswith(prefix):
            registry.remove(job_id)
            queue.enqueue_job(Job.fetch(job_id, connection=redis))
            moved.append(job_id)
    return moved


async def test_an_offer_that_expires_moves_on_to_the_next_in_line(
    gql: GraphQLClient, world: World, smtp: SmtpServer, worker: Path, settings: Settings,
) -> None:
    redis = Redis.from_url(TEST_REDIS_URL)
    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    bob = await world.person(salon.tenant, Role.CUSTOMER, email="bob@example.com")
    await join(gql, salon, token=ann.token)
    await join(gql, salon, token=bob.token)
    await cancel_the_booking(gql, salon)
    to_ann = await eventually(mail_to(smtp, "ann@example.com", "A time opened up"), "ann's offer", worker)
    [offer] = await offers(world)
    registry = ScheduledJobRegistry(queue=Queue("high", connection=redis))
    [expiry_job] = [j for j in registry.get_job_ids() if j.startswith("waitlist-offer-expiry")]
    scheduled_at = registry.get_scheduled_time(expiry_job)

    # Time passes: the offer's minutes are up and its expiry job comes due.
    await execute_as_owner(settings, f"UPDATE waitlist_offers SET expires_at = now() - interval '1 second' "
                                     f"WHERE id = '{offer.id}'")
    assert _due_now(redis, "waitlist-offer-expiry") == [expiry_job]
    to_bob = await eventually(mail_to(smtp, "bob@example.com", "A time opened up"), "bob's offer", worker)
    ann_token = CLAIM_LINK.search(to_ann.text).group(1)  # type: ignore[union-attr]
    too_late = await gql(CLAIM, {"input": {"token": ann_token}}, tenant="salon")

    assert abs((scheduled_at - offer.expires_at).total_seconds()) < 1
    assert [o.status for o in await offers(world)] == ["expired", "open"]
    assert too_late.data["claimWaitlistOffer"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert CLAIM_LINK.search(to_bob.text)
    assert smtp.sink.to("ann@example.com")[-1].subject.startswith("A time opened up")  # no "cancelled" mail
    assert await event_types(world) == [
        "waitlist.joined", "waitlist.joined", "waitlist.offered", "waitlist.expired", "waitlist.offered"]
