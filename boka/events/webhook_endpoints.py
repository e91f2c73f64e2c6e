"""Tenants' webhook endpoints and their delivery log: who may manage them (owners and
managers), what a valid endpoint is, and the reads behind the API."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import NotFound, UserErrorCode, UserInputError
from boka.events.webhook_signing import new_secret, seal_secret
from boka.events.webhook_targets import literal_private_host
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.identity.secret_box import SecretBox
from boka.models.tenancy import Tenant
from boka.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from boka.pagination import Page, group_rows, keyset_page

MAX_EVENT_TYPES = 50
EVENT_TYPE = re.compile(r"^(\*|[a-z_]+\.(\*|[a-z_]+))$")


def require_webhook_manager(principal: Principal) -> Tenant:
    principal.authorize(Action.WEBHOOK_MANAGE, Scope.TENANT)
    return principal.require_tenant()


def _invalid(message: str, field: str) -> UserInputError:
    return UserInputError(UserErrorCode.INVALID_INPUT, message, field)


def check_url(url: str, *, allow_private: bool) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > 2000 or parts.scheme not in ("https", "http") or not parts.hostname:
        raise _invalid("Give an http(s) URL of at most 2000 characters.", "url")
    if parts.username or parts.password:
        raise _invalid("Put no credentials in the URL; verify the signature instead.", "url")
    if not allow_private and literal_private_host(url):
        raise _invalid("Webhooks go to public addresses only.", "url")
    return url


def check_event_types(event_types: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in event_types))
    if not cleaned or len(cleaned) > MAX_EVENT_TYPES:
        raise _invalid(f"Name 1 to {MAX_EVENT_TYPES} event types (\"*\" for all).", "eventTypes")
    for index, event_type in enumerate(cleaned):
        if len(event_type) > 64 or not EVENT_TYPE.match(event_type):
            raise _invalid("An event type looks like booking.created, booking.* or *.", f"eventTypes.{index}")
    return cleaned


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    family = event_type.split(".", 1)[0] + ".*"
    return any(t in ("*", event_type, family) for t in endpoint.event_types)


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once, at creation or rotation; stored sealed


async def create_endpoint(
    db: AsyncSession, principal: Principal, *, url: str, event_types: Sequence[str], box: SecretBox,
    description: str = "", allow_private: bool = False,
) -> EndpointWithSecret:
    tenant = require_webhook_manager(principal)
    if len(description) > 500:
        raise _invalid("Use at most 500 characters.", "description")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=tenant.id, url=check_url(url, allow_private=allow_private), event_types=check_event_types(event_types),
        secret=seal_secret(box, secret), description=description.strip(),
    )
    db.add(endpoint)
    await db.flush()
    return EndpointWithSecret(endpoint, secret)


async def get_endpoint(db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    tenant = require_webhook_manager(principal)
    endpoint = (
        await db.execute(
            sa.select(WebhookEndpoint).where(
                WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant.id
            )
        )
    ).scalar_one_or_none()
    if endpoint is None:
        raise NotFound("No webhook endpoint with this ID in this tenant.")
    return endpoint


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    event_types: Sequence[str] | None = None
    description: str | None = None
    active: bool | None = None


async def update_endpoint(
    db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, changes: EndpointChanges,
    *, allow_private: bool = False,
) -> WebhookEndpoint:
    endpoint = await get_endpoint(db, principal, endpoint_id)
    if changes.url is not None:
        endpoint.url = check_url(changes.url, allow_private=allow_private)
    if changes.event_types is not None:
        endpoint.event_types = check_event_types(changes.event_types)
    if changes.description is not None:
        if len(changes.description) > 500:
            raise _invalid("Use at most 500 characters.", "description")
        endpoint.description = changes.description.strip()
    if changes.active is not None:
        endpoint.active = changes.active
        if changes.active:  # switched back on: a fresh start
            endpoint.consecutive_dead = 0
            endpoint.disabled_reason = None
    await db.flush()
    return endpoint


async def rotate_secret(
    db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, box: SecretBox
) -> EndpointWithSecret:
    endpoint = await get_endpoint(db, principal, endpoint_id)
    secret = new_secret()
    endpoint.secret = seal_secret(box, secret)
    await db.flush()
    return EndpointWithSecret(endpoint, secret)


async def delete_endpoint(db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> uuid.UUID:
    endpoint = await get_endpoint(db, principal, endpoint_id)
    await db.delete(endpoint)
    await db.flush()
    return endpoint_id


async def list_endpoints(
    db: AsyncSession, principal: Principal, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[WebhookEndpoint]:
    tenant = require_webhook_manager(principal)
    statement = sa.select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant.id)
    return await keyset_page(
        db, statement, sort_column=WebhookEndpoint.created_at, id_column=WebhookEndpoint.id,
        first=first, after=after, last=last, before=before,
    )


async def list_deliveries(
    db: AsyncSession,
    principal: Principal,
    *,
    endpoint_id: uuid.UUID | None,
    status: str | None,
    first: int | None,
    after: str | None, last: int | None = None, before: str | None = None,
) -> Page[WebhookDelivery]:
    """The delivery log (oldest first), optionally of one endpoint and in one status (e.g.
    the dead letters)."""
    tenant = require_webhook_manager(principal)
    statement = sa.select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant.id)
    if endpoint_id is not None:
        statement = statement.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return await keyset_page(
        db, statement, sort_column=WebhookDelivery.created_at, id_column=WebhookDelivery.id,
        first=first, after=after, last=last, before=before,
    )


async def visible_endpoints(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, WebhookEndpoint]:
    tenant = require_webhook_manager(principal)
    statement = sa.select(WebhookEndpoint).where(
        WebhookEndpoint.id.in_(ids), WebhookEndpoint.tenant_id == tenant.id
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def visible_deliveries(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, WebhookDelivery]:
    tenant = require_webhook_manager(principal)
    statement = sa.select(WebhookDelivery).where(
        WebhookDelivery.id.in_(ids), WebhookDelivery.tenant_id == tenant.id
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def attempts_of_deliveries(
    db: AsyncSession, principal: Principal, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    tenant = require_webhook_manager(principal)
    statement = (
        sa.select(WebhookAttempt.delivery_id, WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids), WebhookAttempt.tenant_id == tenant.id)
        .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
    )
    return group_rows((await db.execute(statement)).all())
