"""Resolvers for outgoing webhooks. Thin: decode the input → ``boka.events`` → types. Jobs for
replayed deliveries are enqueued after the transaction commits."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from boka.events import webhook_delivery, webhook_endpoints
from boka.jobs.webhooks import enqueue_deliveries
from boka.models.webhooks import DeliveryStatus
from boka.resolvers.booking import aware
from boka.resolvers.context import Info
from boka.schema.ids import optional_row_id, row_id
from boka.schema.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    connection_from_page,
    counted_in_read,
)
from boka.schema.rate_limits import admin_limited
from boka.schema.transactions import read, write
from boka.schema.webhooks import (
    CreateWebhookEndpointInput,
    DeleteWebhookEndpointPayload,
    DeliveryStatusEnum,
    ReplayWebhookDeliveryInput,
    ReplayWebhookEventsInput,
    ReplayWebhookEventsPayload,
    UpdateWebhookEndpointInput,
    WebhookDeliveryPayload,
    WebhookDeliveryType,
    WebhookEndpointIdInput,
    WebhookEndpointPayload,
    WebhookEndpointType,
)


async def webhook_endpoints_(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
) -> Connection[WebhookEndpointType]:
    page = await read(info, lambda db, p: webhook_endpoints.list_endpoints(
        db, p, first=first, after=after, last=last, before=before))
    return connection_from_page(page, WebhookEndpointType.from_model, counted_in_read(info))


async def webhook_deliveries(
    info: Info,
    endpoint_id: relay.GlobalID | None = None,
    status: DeliveryStatusEnum | None = None,  # type: ignore[valid-type]
    first: First = None, after: After = None,
    last: Last = None, before: Before = None,
) -> Connection[WebhookDeliveryType]:
    """The delivery log, oldest first; ``status: DEAD`` lists the dead letters."""
    endpoint_row_id = optional_row_id(endpoint_id, "WebhookEndpoint", "endpointId")
    status_value = DeliveryStatus(status).value if status is not None else None
    page = await read(info, lambda db, p: webhook_endpoints.list_deliveries(
        db, p, endpoint_id=endpoint_row_id, status=status_value, first=first, after=after, last=last, before=before))
    return connection_from_page(page, WebhookDeliveryType.from_model, counted_in_read(info))


async def create_webhook_endpoint(info: Info, input: CreateWebhookEndpointInput) -> WebhookEndpointPayload:
    runtime = info.context.runtime
    made, errors = await write(info, lambda db, p: webhook_endpoints.create_endpoint(
        db, p, url=input.url, event_types=input.event_types, description=input.description,
        box=runtime.secret_box, allow_private=runtime.settings.webhook_allow_private_targets))
    if made is None:
        return WebhookEndpointPayload(errors=errors)
    return WebhookEndpointPayload(endpoint=WebhookEndpointType.from_model(made.endpoint), secret=made.secret)


async def update_webhook_endpoint(info: Info, input: UpdateWebhookEndpointInput) -> WebhookEndpointPayload:
    row, errors = await write(info, lambda db, p: webhook_endpoints.update_endpoint(
        db, p, row_id(input.id, "WebhookEndpoint", "id"),
        webhook_endpoints.EndpointChanges(
            url=input.url, event_types=input.event_types, description=input.description,
            active=input.active,
        ), allow_private=info.context.runtime.settings.webhook_allow_private_targets))
    return WebhookEndpointPayload(endpoint=WebhookEndpointType.from_model(row) if row else None, errors=errors)


async def rotate_webhook_secret(info: Info, input: WebhookEndpointIdInput) -> WebhookEndpointPayload:
    rotated, errors = await write(info, lambda db, p: webhook_endpoints.rotate_secret(
        db, p, row_id(input.id, "WebhookEndpoint", "id"), box=info.context.runtime.secret_box))
    if rotated is None:
        return WebhookEndpointPayload(errors=errors)
    return WebhookEndpointPayload(endpoint=WebhookEndpointType.from_model(rotated.endpoint), secret=rotated.secret)


async def delete_webhook_endpoint(info: Info, input: WebhookEndpointIdInput) -> DeleteWebhookEndpointPayload:
    deleted, errors = await write(info, lambda db, p: webhook_endpoints.delete_endpoint(
        db, p, row_id(input.id, "WebhookEndpoint", "id")))
    deleted_id = relay.GlobalID("WebhookEndpoint", str(deleted)) if deleted else None
    return DeleteWebhookEndpointPayload(deleted_id=deleted_id, errors=errors)


async def replay_webhook_delivery(info: Info, input: ReplayWebhookDeliveryInput) -> WebhookDeliveryPayload:
    row, errors = await write(info, lambda db, p: webhook_delivery.replay_delivery(
        db, p, row_id(input.id, "WebhookDelivery", "id")))
    if row is None:
        return WebhookDeliveryPayload(errors=errors)
    await enqueue_deliveries(info.context.runtime, [row])
    return WebhookDeliveryPayload(delivery=WebhookDeliveryType.from_model(row))


async def replay_webhook_events(info: Info, input: ReplayWebhookEventsInput) -> ReplayWebhookEventsPayload:
    start: datetime = input.from_
    rows, errors = await write(info, lambda db, p: webhook_delivery.replay_events(
        db, p, row_id(input.endpoint_id, "WebhookEndpoint", "endpointId"),
        start=aware(start, "from"), end=aware(input.to, "to")))
    if rows is None:
        return ReplayWebhookEventsPayload(errors=errors)
    await enqueue_deliveries(info.context.runtime, rows)
    return ReplayWebhookEventsPayload(queued=len(rows))


@strawberry.type
class WebhookQuery:
    webhook_endpoints: Connection[WebhookEndpointType] = strawberry.field(resolver=webhook_endpoints_)
    webhook_deliveries: Connection[WebhookDeliveryType] = strawberry.field(resolver=webhook_deliveries)


@strawberry.type
class WebhookMutation:
    create_webhook_endpoint: WebhookEndpointPayload = strawberry.field(
        resolver=create_webhook_endpoint, extensions=admin_limited())
    update_webhook_endpoint: WebhookEndpointPayload = strawberry.field(
        resolver=update_webhook_endpoint, extensions=admin_limited())
    rotate_webhook_secret: WebhookEndpointPayload = strawberry.field(
        resolver=rotate_webhook_secret, extensions=admin_limited())
    delete_webhook_endpoint: DeleteWebhookEndpointPayload = strawberry.field(
        resolver=delete_webhook_endpoint, extensions=admin_limited())
    replay_webhook_delivery: WebhookDeliveryPayload = strawberry.field(
        resolver=replay_webhook_delivery, extensions=admin_limited())
    replay_webhook_events: ReplayWebhookEventsPayload = strawberry.field(
        resolver=replay_webhook_events, extensions=admin_limited())
