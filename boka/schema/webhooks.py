"""GraphQL types for outgoing webhooks (owners and managers): endpoints and the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.events.webhook_endpoints import (
    attempts_of_deliveries,
    visible_deliveries,
    visible_endpoints,
)
from boka.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from boka.schema.errors import UserError
from boka.schema.transactions import resolve_visible_nodes

DeliveryStatusEnum = strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(name="WebhookEndpoint", description="Where Boka POSTs signed events.")
class WebhookEndpointType(relay.Node):
    id: relay.NodeID[str]
    url: str
    event_types: list[str] = strawberry.field(description='e.g. "booking.created", "booking.*", "*".')
    description: str
    active: bool
    disabled_reason: str | None = strawberry.field(description="Why Boka switched it off, if it did.")
    created_at: datetime

    @classmethod
    def from_model(cls, endpoint: WebhookEndpoint) -> WebhookEndpointType:
        return cls(
            id=str(endpoint.id), url=endpoint.url, event_types=list(endpoint.event_types),
            description=endpoint.description, active=endpoint.active,
            disabled_reason=endpoint.disabled_reason, created_at=endpoint.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[WebhookEndpointType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_endpoints, cls.from_model)


@strawberry.type(name="WebhookAttempt", description="One POST of a delivery.")
class WebhookAttemptType:
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    succeeded: bool

    @classmethod
    def from_model(cls, attempt: WebhookAttempt) -> WebhookAttemptType:
        return cls(
            attempted_at=attempt.attempted_at, status_code=attempt.status_code,
            latency_ms=attempt.latency_ms, error=attempt.error, succeeded=attempt.succeeded,
        )


@strawberry.type(name="WebhookDelivery", description="One event for one endpoint, with its tries.")
class WebhookDeliveryType(relay.Node):
    id: relay.NodeID[str]
    endpoint_id: relay.GlobalID
    event_id: strawberry.ID
    event_type: str
    status: DeliveryStatusEnum  # type: ignore[valid-type]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, delivery: WebhookDelivery) -> WebhookDeliveryType:
        return cls(
            id=str(delivery.id),
            endpoint_id=relay.GlobalID("WebhookEndpoint", str(delivery.endpoint_id)),
            event_id=strawberry.ID(str(delivery.event_id)), event_type=delivery.event_type,
            status=DeliveryStatus(delivery.status), attempts=delivery.attempts,
            last_status_code=delivery.last_status_code, last_error=delivery.last_error,
            created_at=delivery.created_at, updated_at=delivery.updated_at,
        )

    @strawberry.field(description="Every try, oldest first.")
    async def attempt_log(self, info: strawberry.Info) -> list[WebhookAttemptType]:
        rows = await info.context.loaders.related(attempts_of_deliveries).load(uuid.UUID(self.id))
        return [WebhookAttemptType.from_model(attempt) for attempt in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[WebhookDeliveryType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_deliveries, cls.from_model)


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    event_types: list[str]
    description: str = ""


@strawberry.input
class UpdateWebhookEndpointInput:
    id: relay.GlobalID
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    active: bool | None = strawberry.field(default=None, description="true also re-enables a disabled endpoint.")


@strawberry.input
class WebhookEndpointIdInput:
    id: relay.GlobalID


@strawberry.input
class ReplayWebhookDeliveryInput:
    id: relay.GlobalID


@strawberry.input
class ReplayWebhookEventsInput:
    endpoint_id: relay.GlobalID
    from_: datetime = strawberry.field(name="from")
    to: datetime


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpointType | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret: returned on create and rotate only."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteWebhookEndpointPayload:
    deleted_id: relay.GlobalID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDeliveryType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ReplayWebhookEventsPayload:
    queued: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)
