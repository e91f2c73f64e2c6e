"""Alerts for a business's team, by email: an outgoing webhook switched off after sustained
failure (owners and managers, who manage integrations), suspicious sign-in activity (owners).
Each recipient gets an alert once (its dedupe key names the event)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from boka.models.identity import User
from boka.models.tenancy import Role, Tenant, TenantUser
from boka.notifications.delivery import Message, Outcome, deliver
from boka.notifications.email import OutgoingEmail
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import message_language
from boka.notifications.templates import render
from boka.notifications.wording import wording_for
from boka.runtime import Runtime


@dataclass(frozen=True)
class TeamAlert:
    key: str  # what makes it one alert: the event id
    title: str
    details: str
    roles: frozenset[Role]


async def send_team_alert(runtime: Runtime, tenant_id: uuid.UUID, alert: TeamAlert) -> dict[str, Outcome]:
    """Email ``alert`` to the tenant's members in ``alert.roles``; {} when email is off."""
    senders = runtime.senders
    if not senders.configured(Channel.EMAIL):
        return {}
    async with runtime.database.transaction(tenant_id) as db:
        tenant = await db.get(Tenant, tenant_id)
        if tenant is None:
            return {}
        emails = list((await db.execute(
            sa.select(User.email)
            .join(TenantUser, TenantUser.user_id == User.id)
            .where(TenantUser.tenant_id == tenant_id, TenantUser.role.in_(alert.roles), User.is_active.is_(True))
            .order_by(User.email)
        )).scalars())
        language = message_language(None, tenant, runtime.settings)
        wording = await wording_for(db, tenant_id, MessageKind.TEAM_ALERT, Channel.EMAIL, language)
    text = render(wording, {"business_name": tenant.name, "title": alert.title, "details": alert.details})
    outcomes = {}
    for email in emails:
        message = Message(
            tenant_id=tenant_id, dedupe_key=f"team-alert:{alert.key}:{email}",
            kind=MessageKind.TEAM_ALERT, channel=Channel.EMAIL, recipient=email,
            email=OutgoingEmail(to=email, subject=text.subject, body=text.body),
        )
        outcomes[email] = await deliver(runtime.database, senders, message)
    return outcomes


def role_names(roles: Iterable[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))


def roles_from(names: str) -> frozenset[Role]:
    return frozenset(Role(name) for name in names.split(",") if name)
