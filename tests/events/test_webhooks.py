"""Outgoing webhooks end to end: GraphQL endpoints, the relay's fan-out, signed POSTs from a
real RQ worker (python worker.py) to a real local HTTP receiver, retries with backoff, dead
letters, auto-disable, re-enable and replay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from boka.config import Settings
from boka.events.webhook_signing import reveal_secret
from boka.models.events import Event
from boka.models.tenancy import Role
from boka.models.types import utcnow
from boka.models.webhooks import WebhookEndpoint
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL, settings_for
from tests.events.support import CREATE, CREATE_ENDPOINT
from tests.events.webhook_receiver import webhook_receiver
from tests.jobs.workers import kill_hard, worker_env, worker_process
from tests.notifications.servers import SmtpServer
from tests.servers import free_port
from tests.support import GraphQLClient, World

FAST = {"webhook_retry_base_seconds": "1", "webhook_max_retries": "2", "webhook_disable_after_dead": "1"}

DELIVERIES = """
query Deliveries($status: WebhookDeliveryStatus, $endpoint: ID) {
  webhookDeliveries(status: $status, endpointId: $endpoint) { edges { node {
    id eventType status attempts lastStatusCode attemptLog { statusCode succeeded latencyMs }
  } } }
}"""
ENDPOINTS = "{ webhookEndpoints { edges { node { id url active disabledReason } } } }"
UPDATE = """
mutation Update($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) { endpoint { active disabledReason } errors { code } }
}"""
REPLAY = """
mutation Replay($input: ReplayWebhookDeliveryInput!) {
  replayWebhookDelivery(input: $input) { delivery { status } errors { code } }
}"""
REPLAY_RANGE = """
mutation ReplayRange($input: ReplayWebhookEventsInput!) {
  replayWebhookEvents(input: $input) { queued errors { code field } }
}"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, relay_in_app=True, webhook_allow_private_targets=True,
                        **{k: int(v) for k, v in FAST.items()})


async def _eventually(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    for _ in range(int(timeout / 0.2)):
        value = await condition() if asyncio.iscoroutinefunction(condition) else condition()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_deliveries_are_signed_retried_dead_lettered_and_replayed(
    app: Any, gql: GraphQLClient, world: World, settings: Settings, tmp_path: Path, smtp: SmtpServer
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    staff = staffed.people[0]

    async def call(query: str, variables: dict[str, Any] | None = None, token: str = owner.token) -> Any:
        return await gql(query, variables, token=token, tenant="salon")

    with webhook_receiver() as receiver:
        ids = {}
        for path, types in (("/ok", ["booking.*"]), ("/flaky", ["booking.created"]), ("/down", ["booking.created"])):
            made = await call(CREATE_ENDPOINT, {"input": {"url": receiver.base + path, "eventTypes": types}})
            payload = made.data["createWebhookEndpoint"]
            assert payload["errors"] == [] and payload["secret"].startswith("whsec_")
            receiver.secrets[path] = payload["secret"]
            ids[path] = payload["endpoint"]["id"]
        receiver.fail_first["/flaky"] = 1
        receiver.down.add("/down")
        forbidden = await call(ENDPOINTS, token=staff.token)
        assert forbidden.error_codes == ["FORBIDDEN"]

        metrics_port = free_port()
        env = worker_env(TEST_REDIS_URL, database_url=settings.database_url,
                         worker_metrics_port=str(metrics_port), webhook_allow_private_targets="true",
                         smtp_host=smtp.host, smtp_port=str(smtp.port), smtp_security="none", **FAST)
        with worker_process(env, tmp_path / "worker.log"):
            booked = await call(CREATE, {"input": {"serviceId": staffed.service_id,
                                                   "start": local(future_day(), 10).isoformat(),
                                                   "customer": {"email": "x@example.com"}}})
            assert booked.data["createBooking"]["errors"] == []

            await _eventually(lambda: len(receiver.at("/ok")) == 1 and len(receiver.at("/flaky")) == 2
                              and len(receiver.at("/down")) == 3, "deliveries, retries and the dead letter")
            ok = receiver.at("/ok")[0]
            assert ok.json["type"] == "booking.created"
            assert ok.json["data"]["booking_id"] == str(
                (await _event(world, "booking.created")).aggregate_id)
            assert ok.headers["boka-event-id"] == ok.json["id"]
            assert all(receiver.signature_ok(r) for r in receiver.received)
            assert [r.status for r in receiver.at("/flaky")] == [500, 200]
            assert {r.json["id"] for r in receiver.at("/down")} == {ok.json["id"]}  # one delivery, 3 tries

            async def dead() -> Any:
                result = await call(DELIVERIES, {"status": "DEAD"})
                return result.data["webhookDeliveries"]["edges"]

            dead_letters = await _eventually(dead, "the dead letter in the API")
            assert len(dead_letters) == 1
            letter = dead_letters[0]["node"]
            assert letter["attempts"] == 3 and letter["lastStatusCode"] == 500
            # what the "dead webhooks" alert watches (deploy/alerts.yml), from the worker's /metrics
            async def delivery_outcomes() -> dict[str, float]:
                async with httpx.AsyncClient() as scraper:
                    exposition = (await scraper.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
                return {s.labels["outcome"]: s.value for f in text_string_to_metric_families(exposition)
                        for s in f.samples if s.name == "boka_webhook_deliveries_total"}

            async def counted() -> bool:
                return await delivery_outcomes() == {"succeeded": 2, "retried": 3, "dead": 1}

            await _eventually(counted, "deliveries counted by outcome")
            assert [a["statusCode"] for a in letter["attemptLog"]] == [500, 500, 500]
            endpoints = {e["node"]["id"]: e["node"] for e in (await call(ENDPOINTS)).data["webhookEndpoints"]["edges"]}
            assert endpoints[ids["/down"]]["active"] is False
            assert "failed deliveries" in endpoints[ids["/down"]]["disabledReason"]
            disabled = await _event(world, "webhook.endpoint_disabled")
            assert disabled.payload["url"] == receiver.base + "/down"
            # ... and the owner hears of it
            [alert] = await _eventually(lambda: smtp.sink.to(owner.email), "the owner's alert email")
            assert alert.subject == "Salon: An outgoing webhook was switched off"
            assert receiver.base + "/down" in alert.text and "failed deliveries in a row" in alert.text

            # The integrator fixes their server, switches the endpoint back on and replays.
            receiver.down.discard("/down")
            updated = await call(UPDATE, {"input": {"id": ids["/down"], "active": True}})
            assert updated.data["updateWebhookEndpoint"]["endpoint"] == {"active": True, "disabledReason": None}
            replayed = await call(REPLAY, {"input": {"id": letter["id"]}})
            assert replayed.data["replayWebhookDelivery"]["errors"] == []
            await _eventually(lambda: [r.status for r in receiver.at("/down")] == [500, 500, 500, 200], "the replay")

            # Any range of past events can be sent again to an endpoint.
            window = {"endpointId": ids["/ok"], "from": (utcnow() - timedelta(hours=1)).isoformat(),
                      "to": (utcnow() + timedelta(minutes=1)).isoformat()}
            again = await call(REPLAY_RANGE, {"input": window})
            assert again.data["replayWebhookEvents"] == {"queued": 1, "errors": []}
            await _eventually(lambda: len(receiver.at("/ok")) == 2, "the replayed range")
            assert receiver.at("/ok")[1].json["id"] == ok.json["id"]  # same event id: receivers dedupe

        statuses = await call(DELIVERIES)
        assert {e["node"]["status"] for e in statuses.data["webhookDeliveries"]["edges"]} == {"SUCCEEDED"}


async def _event(world: World, event_type: str) -> Event:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return (await db.execute(sa.select(Event).where(Event.type == event_type))).scalars().first()


async def test_endpoints_refuse_bad_urls_and_event_types(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    for url, types, field in (("ftp://x.example", ["*"], "url"), ("https://u:p@x.example/h", ["*"], "url"),
                              ("https://x.example/h", [], "eventTypes"), ("https://x.example/h", ["Booking!"], "eventTypes.0")):
        result = await gql(CREATE_ENDPOINT, {"input": {"url": url, "eventTypes": types}}, token=owner.token, tenant="salon")
        assert result.data["createWebhookEndpoint"]["errors"] == [{"field": field, "code": "INVALID_INPUT"}], url


async def test_private_addresses_are_refused_unless_allowed(world: World, app: Any) -> None:
    from boka.events.webhook_targets import refused_target

    assert await refused_target("http://127.0.0.1:9/x", allow_private=False)
    assert await refused_target("http://localhost:9/x", allow_private=False)
    assert await refused_target("http://169.254.169.254/latest", allow_private=False)
    assert await refused_target("http://127.0.0.1:9/x", allow_private=True) is None
    from boka.errors import UserInputError
    from boka.events.webhook_endpoints import check_url

    with pytest.raises(UserInputError):
        check_url("http://10.0.0.7/hook", allow_private=False)
    assert check_url("https://hooks.example.com/x", allow_private=False) == "https://hooks.example.com/x"


def test_signatures_verify_only_with_the_right_secret_and_time() -> None:
    from boka.events.webhook_signing import signature, verify

    header = signature("whsec_a", b'{"x":1}', 1_000_000)
    assert verify("whsec_a", b'{"x":1}', header, now=1_000_010)
    assert not verify("whsec_b", b'{"x":1}', header, now=1_000_010)
    assert not verify("whsec_a", b'{"x":2}', header, now=1_000_010)
    assert not verify("whsec_a", b'{"x":1}', header, now=1_000_000 + 301)


async def test_a_worker_killed_mid_delivery_loses_nothing(
    app: Any, gql: GraphQLClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    with webhook_receiver() as receiver:
        made = await gql(CREATE_ENDPOINT, {"input": {"url": receiver.base + "/hook", "eventTypes": ["booking.created"]}},
                         token=owner.token, tenant="salon")
        receiver.secrets["/hook"] = made.data["createWebhookEndpoint"]["secret"]
        receiver.hang_first.add("/hook")
        env = worker_env(TEST_REDIS_URL, database_url=settings.database_url, webhook_timeout_seconds="60",
                         webhook_allow_private_targets="true", **FAST)
        booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                                              "customer": {"email": "x@example.com"}}}, token=owner.token, tenant="salon")
        assert booked.data["createBooking"]["errors"] == []
        with worker_process({**env, "BOKA_WORKER_METRICS_PORT": str(free_port())}, tmp_path / "first.log") as first:
            await _eventually(lambda: len(receiver.at("/hook")) == 1, "the delivery to start")
            kill_hard(first)  # mid-POST: the worker, its work horse and its scheduler
        receiver.release.set()
        with worker_process({**env, "BOKA_WORKER_METRICS_PORT": str(free_port())}, tmp_path / "second.log"):
            await _eventually(lambda: len(receiver.at("/hook")) == 2, "the delivery to be tried again", timeout=120)

            async def succeeded() -> Any:
                result = await gql(DELIVERIES, token=owner.token, tenant="salon")
                return [e["node"]["status"] for e in result.data["webhookDeliveries"]["edges"]] == ["SUCCEEDED"]

            await _eventually(succeeded, "the delivery to be recorded as succeeded")
        first_try, second_try = receiver.at("/hook")
        assert first_try.json["id"] == second_try.json["id"] and receiver.signature_ok(second_try)


async def test_signing_secrets_are_stored_sealed(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)

    made = await gql(CREATE_ENDPOINT, {"input": {"url": "https://hooks.example.com/boka", "eventTypes": ["*"]}},
                     token=owner.token, tenant="salon")

    secret = made.data["createWebhookEndpoint"]["secret"]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        stored = (await db.execute(sa.select(WebhookEndpoint.secret))).scalar_one()
    assert secret.startswith("whsec_") and secret not in stored
    assert reveal_secret(world.runtime.secret_box, stored) == secret
