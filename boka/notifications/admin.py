"""Managing notifications: tenant templates and settings (managers and owners) and a signed-in
customer's own preferences. The GraphQL resolvers call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import require_catalog_manager
from boka.errors import UserErrorCode, UserInputError
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Customer
from boka.models.notifications import NotificationTemplate
from boka.models.tenancy import Tenant
from boka.models.types import utcnow
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import (
    CustomerPreferences,
    agenda_hour,
    customer_preferences,
    reminder_lead_minutes,
    set_customer_preferences,
    set_tenant_notification_settings,
    tenant_language,
    validate_language,
)
from boka.notifications.templates import DEFAULTS, LANGUAGES, template_problems


@dataclass(frozen=True)
class EffectiveTemplate:
    kind: MessageKind
    channel: Channel
    language: str
    subject: str
    body: str
    is_default: bool
    updated_at: datetime | None


@dataclass(frozen=True)
class TenantNotificationSettings:
    reminder_lead_minutes: tuple[int, ...]
    language: str | None
    agenda_hour: int


async def list_templates(db: AsyncSession, principal: Principal) -> list[EffectiveTemplate]:
    """Every (kind, channel, language) with the wording in use: the tenant's or the default."""
    tenant = require_catalog_manager(principal)
    overrides = {
        (row.kind, row.channel, row.language): row
        for row in (await db.execute(
            sa.select(NotificationTemplate).where(NotificationTemplate.tenant_id == tenant.id)
        )).scalars()
    }
    result = []
    for (kind, channel, language), default in DEFAULTS.items():
        row = overrides.get((kind.value, channel.value, language))
        result.append(EffectiveTemplate(
            kind=kind, channel=channel, language=language,
            subject=row.subject if row else default.subject, body=row.body if row else default.body,
            is_default=row is None, updated_at=row.updated_at if row else None,
        ))
    return result


async def save_template(
    db: AsyncSession, principal: Principal, *, kind: MessageKind, channel: Channel,
    language: str, subject: str, body: str,
) -> EffectiveTemplate:
    tenant = require_catalog_manager(principal)
    validate_language(language)
    problems = template_problems(kind, channel, subject, body)
    if problems:
        field, message = problems[0]
        raise UserInputError(UserErrorCode.INVALID_INPUT, message, field)
    row = await _find_template(db, tenant, kind, channel, language)
    now = utcnow()
    if row is None:
        row = NotificationTemplate(tenant_id=tenant.id, kind=kind.value, channel=channel.value,
                                   language=language, subject=subject, body=body, updated_at=now)
        db.add(row)
    else:
        row.subject, row.body, row.updated_at = subject, body, now
    await db.flush()
    return EffectiveTemplate(kind, channel, language, subject, body, False, now)


async def reset_template(
    db: AsyncSession, principal: Principal, *, kind: MessageKind, channel: Channel, language: str
) -> EffectiveTemplate:
    """Back to the built-in wording."""
    tenant = require_catalog_manager(principal)
    validate_language(language)
    row = await _find_template(db, tenant, kind, channel, language)
    if row is not None:
        await db.delete(row)
        await db.flush()
    default = DEFAULTS[(kind, channel, language)]
    return EffectiveTemplate(kind, channel, language, default.subject, default.body, True, None)


async def _find_template(
    db: AsyncSession, tenant: Tenant, kind: MessageKind, channel: Channel, language: str
) -> NotificationTemplate | None:
    return (await db.execute(
        sa.select(NotificationTemplate).where(
            NotificationTemplate.tenant_id == tenant.id, NotificationTemplate.kind == kind.value,
            NotificationTemplate.channel == channel.value, NotificationTemplate.language == language,
        ).with_for_update()
    )).scalar_one_or_none()


def _settings_of(tenant: Tenant) -> TenantNotificationSettings:
    return TenantNotificationSettings(
        reminder_lead_minutes=reminder_lead_minutes(tenant), language=tenant_language(tenant),
        agenda_hour=agenda_hour(tenant),
    )


async def tenant_notification_settings(db: AsyncSession, principal: Principal) -> TenantNotificationSettings:
    tenant = require_catalog_manager(principal)
    row = await db.get(Tenant, tenant.id)
    assert row is not None
    return _settings_of(row)


async def update_tenant_notification_settings(
    db: AsyncSession, principal: Principal, *, reminder_lead_minutes: list[int] | None,
    language: str | None, agenda_hour: int | None,
) -> TenantNotificationSettings:
    """Lead times apply to reminders planned from now on (bookings confirmed or moved later)."""
    tenant = require_catalog_manager(principal)
    row = await db.get(Tenant, tenant.id, with_for_update=True)
    assert row is not None
    set_tenant_notification_settings(
        row, reminder_lead_minutes=reminder_lead_minutes, language=language, agenda_hour=agenda_hour
    )
    await db.flush()
    return _settings_of(row)


async def my_customer(db: AsyncSession, principal: Principal, *, lock: bool = False) -> Customer | None:
    """The signed-in user's customer record in this tenant (created by their first booking)."""
    principal.authorize(Action.BOOKING_VIEW, Scope.OWN)
    tenant = principal.require_tenant()
    user = principal.require_user()
    statement = sa.select(Customer).where(Customer.tenant_id == tenant.id, Customer.user_id == user.id)
    if lock:
        statement = statement.with_for_update()
    return (await db.execute(statement)).scalar_one_or_none()


async def my_preferences(db: AsyncSession, principal: Principal) -> CustomerPreferences | None:
    customer = await my_customer(db, principal)
    return customer_preferences(customer) if customer else None


async def update_my_preferences(
    db: AsyncSession, principal: Principal, *, channels: list[Channel] | None, language: str | None
) -> CustomerPreferences:
    customer = await my_customer(db, principal, lock=True)
    if customer is None:
        raise UserInputError(
            UserErrorCode.INVALID_INPUT,
            "You have no customer profile here yet; it is created with your first booking.",
        )
    preferences = set_customer_preferences(customer, channels=channels, language=language)
    await db.flush()
    return preferences


__all__ = ["LANGUAGES"]
