"""Delivering events to webhook endpoints: fan-out (a relay consumer), one signed attempt at a
time (an RQ job, retried with exponential backoff), dead letters, replay and auto-disable.

- Fan-out: for each committed event, one delivery row per active endpoint that wants it
  (unique per endpoint and event, so a relay delivering the event twice adds nothing), then a
  job per new delivery (the consumer and the enqueueing are in boka/jobs/webhooks.py).
- An attempt POSTs the event with ``Boka-Signature`` and a timeout, logs a row in
  ``webhook_attempts``; a 2xx succeeds. A failure raises, and the job queue retries it after
  ``BOKA_WEBHOOK_RETRY_BASE_SECONDS`` × 2ⁿ; after ``BOKA_WEBHOOK_MAX_RETRIES`` retries the
  delivery is dead (listed by ``webhookDeliveries(status: DEAD)``, replayable).
- ``BOKA_WEBHOOK_DISABLE_AFTER_DEAD`` dead deliveries in a row disable the endpoint and emit
  ``webhook.endpoint_disabled`` (for notifications to pick up).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.consumers import DeliveredEvent
from boka.events.outbox import record_event
from boka.events.webhook_endpoints import get_endpoint, require_webhook_manager, wants
from boka.events.webhook_signing import SIGNATURE_HEADER, reveal_secret, signature
from boka.events.webhook_targets import refused_target
from boka.identity.principal import Principal
from boka.models.events import Event
from boka.models.types import utcnow
from boka.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from boka.observability.logging import get_logger
from boka.observability.metrics import WEBHOOK_DELIVERIES

if TYPE_CHECKING:
    from boka.runtime import Runtime

log = get_logger("boka.events.webhooks")
ENDPOINT_DISABLED = "webhook.endpoint_disabled"
MAX_REPLAY = 1000


class _Refused(Exception):
    pass


class WebhookAttemptFailed(Exception):
    """This attempt failed; the job queue tries again later."""


def envelope(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.type,
        "created": event.occurred_at.isoformat(),
        "tenant_id": str(event.tenant_id),
        "aggregate": {"type": event.aggregate_type, "id": str(event.aggregate_id), "sequence": event.sequence},
        "data": event.payload,
    }


# --- fan-out (the relay consumer and the jobs it enqueues are in boka/jobs/webhooks.py) ----


async def endpoints_wanting(db: AsyncSession, event: DeliveredEvent) -> list[uuid.UUID]:
    """The tenant's active endpoints that want this event."""
    endpoints = (
        await db.execute(
            sa.select(WebhookEndpoint).where(
                WebhookEndpoint.tenant_id == event.tenant_id, WebhookEndpoint.active.is_(True)
            )
        )
    ).scalars()
    return [endpoint.id for endpoint in endpoints if wants(endpoint, event.type)]


async def deliveries_for(
    db: AsyncSession, event: DeliveredEvent, wanted: list[uuid.UUID]
) -> list[WebhookDelivery]:
    insert = postgres_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    await db.execute(
        insert(WebhookDelivery)
        .values([
            {"id": uuid.uuid4(), "tenant_id": event.tenant_id, "endpoint_id": endpoint_id,
             "event_id": event.id, "event_type": event.type, "status": DeliveryStatus.PENDING.value,
             "attempts": 0, "round_attempts": 0, "created_at": now, "updated_at": now}
            for endpoint_id in wanted
        ])
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
    )
    # New ones, and any whose job may never have been enqueued (a crash right after commit).
    return list(
        (
            await db.execute(
                sa.select(WebhookDelivery).where(
                    WebhookDelivery.event_id == event.id,
                    WebhookDelivery.status == DeliveryStatus.PENDING.value,
                    WebhookDelivery.round_attempts == 0,
                )
            )
        ).scalars()
    )


async def pending_deliveries(db: AsyncSession) -> list[WebhookDelivery]:
    """Every delivery not yet succeeded or dead, in every tenant (the transaction must see all
    tenants): each has a job in its current round, unless the job store lost it."""
    return list(
        (await db.execute(sa.select(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.PENDING.value)))
        .scalars()
    )


# --- one attempt ---------------------------------------------------------------------------


async def attempt_delivery(runtime: Runtime, delivery_id: uuid.UUID) -> None:
    """Try the delivery once. Raises WebhookAttemptFailed when it should be retried."""
    database = runtime.database
    async with database.transaction(all_tenants=True) as db:
        found = (
            await db.execute(
                sa.select(WebhookDelivery, WebhookEndpoint, Event)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .join(Event, Event.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.id == delivery_id)
            )
        ).first()
    if found is None:
        return  # the endpoint (and its deliveries) were deleted
    delivery, endpoint, event = found
    if delivery.status != DeliveryStatus.PENDING.value:
        return
    if not endpoint.active:
        await _finish(runtime, delivery.id, None, 0, "the endpoint is disabled", succeeded=False, final=True)
        return
    body = json.dumps(envelope(event), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Boka-Webhooks/1",
        SIGNATURE_HEADER: signature(reveal_secret(runtime.secret_box, endpoint.secret), body, timestamp),
        "Boka-Event-Id": str(event.id),
        "Boka-Event-Type": event.type,
        "Boka-Delivery-Id": str(delivery.id),
    }
    import httpx  # imported on first delivery: the app process that only enqueues never needs it

    started = time.perf_counter()
    status_code: int | None = None
    error = await refused_target(endpoint.url, allow_private=runtime.settings.webhook_allow_private_targets)
    try:
        if error is not None:
            raise _Refused()
        async with httpx.AsyncClient(
            timeout=runtime.settings.webhook_timeout_seconds, follow_redirects=False
        ) as client:
            response = await client.post(endpoint.url, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except _Refused:
        pass
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    latency_ms = int((time.perf_counter() - started) * 1000)
    succeeded = error is None
    final = succeeded or delivery.round_attempts + 1 > runtime.settings.webhook_max_retries
    await _finish(runtime, delivery.id, status_code, latency_ms, error, succeeded=succeeded, final=final)
    if not final:
        raise WebhookAttemptFailed(f"delivery {delivery.id}: {error}")


async def _finish(
    runtime: Runtime, delivery_id: uuid.UUID, status_code: int | None, latency_ms: int,
    error: str | None, *, succeeded: bool, final: bool,
) -> None:
    async with runtime.database.transaction(all_tenants=True, write=True) as db:
        delivery = (
            await db.execute(sa.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
        ).scalar_one()
        endpoint = (
            await db.execute(
                sa.select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id).with_for_update()
            )
        ).scalar_one()
        db.add(WebhookAttempt(
            tenant_id=delivery.tenant_id, delivery_id=delivery.id, status_code=status_code,
            latency_ms=latency_ms, error=error, succeeded=succeeded,
        ))
        delivery.attempts += 1
        delivery.round_attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.updated_at = utcnow()
        if succeeded:
            delivery.status = DeliveryStatus.SUCCEEDED.value
            endpoint.consecutive_dead = 0
        elif final:
            delivery.status = DeliveryStatus.DEAD.value
            await _count_dead(db, runtime, endpoint)
        await db.flush()
    # Counted once the attempt's outcome is committed.
    WEBHOOK_DELIVERIES.labels(outcome="succeeded" if succeeded else "dead" if final else "retried").inc()


async def _count_dead(db: AsyncSession, runtime: Runtime, endpoint: WebhookEndpoint) -> None:
    endpoint.consecutive_dead += 1
    limit = runtime.settings.webhook_disable_after_dead
    if endpoint.active and endpoint.consecutive_dead >= limit:
        endpoint.active = False
        endpoint.disabled_reason = f"Disabled after {endpoint.consecutive_dead} failed deliveries in a row."
        log.warning("webhook endpoint disabled", endpoint_id=str(endpoint.id), url=endpoint.url)
        await record_event(
            db, tenant_id=endpoint.tenant_id, aggregate_type="webhook_endpoint",
            aggregate_id=endpoint.id, type=ENDPOINT_DISABLED,
            payload={"endpoint_id": str(endpoint.id), "url": endpoint.url,
                     "reason": endpoint.disabled_reason},
        )


# --- replay --------------------------------------------------------------------------------


async def replay_delivery(db: AsyncSession, principal: Principal, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send a delivery again (dead or not), with a fresh round of retries. Enqueue it with
    ``enqueue_deliveries`` after the transaction commits."""
    tenant = require_webhook_manager(principal)
    delivery = (
        await db.execute(
            sa.select(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.tenant_id == tenant.id
            )
        )
    ).scalar_one_or_none()
    if delivery is None:
        from boka.errors import NotFound

        raise NotFound("No webhook delivery with this ID in this tenant.")
    await get_endpoint(db, principal, delivery.endpoint_id)
    delivery.status = DeliveryStatus.PENDING.value
    delivery.round_attempts = 0
    delivery.updated_at = utcnow()
    await db.flush()
    return delivery


async def replay_events(
    db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, start: datetime, end: datetime
) -> list[WebhookDelivery]:
    """Deliver every event the endpoint wants that occurred in [start, end) again (at most
    MAX_REPLAY). Enqueue the returned deliveries after commit."""
    from boka.errors import InvalidRequest

    endpoint = await get_endpoint(db, principal, endpoint_id)
    if not start < end:
        raise InvalidRequest("'from' must come before 'to'.")
    events = (
        await db.execute(
            sa.select(Event)
            .where(Event.tenant_id == endpoint.tenant_id, Event.occurred_at >= start, Event.occurred_at < end)
            .order_by(Event.position)
            .limit(MAX_REPLAY)
        )
    ).scalars()
    wanted = [event for event in events if wants(endpoint, event.type) and event.type != ENDPOINT_DISABLED]
    existing = {
        row.event_id: row
        for row in (
            await db.execute(
                sa.select(WebhookDelivery).where(
                    WebhookDelivery.endpoint_id == endpoint.id,
                    WebhookDelivery.event_id.in_([event.id for event in wanted]),
                )
            )
        ).scalars()
    }
    deliveries = []
    for event in wanted:
        delivery = existing.get(event.id)
        if delivery is None:
            delivery = WebhookDelivery(
                tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id, event_id=event.id,
                event_type=event.type,
            )
            db.add(delivery)
        delivery.status = DeliveryStatus.PENDING.value
        delivery.round_attempts = 0
        delivery.updated_at = utcnow()
        deliveries.append(delivery)
    await db.flush()
    return deliveries
