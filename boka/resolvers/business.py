"""Resolvers for signing a business up, its settings and its public booking page."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import strawberry

from boka.business.defaults import defaults_of
from boka.business.profile import (
    public_profile,
    read_business_settings,
    settings_of,
    update_business_settings,
)
from boka.business.signup import (
    BusinessInput,
    OwnerInput,
    SignedUpBusiness,
    may_sign_up,
    sign_up_business as create_business,
)
from boka.identity.principal import Principal
from boka.identity.suspension import check_open
from boka.jobs.account_mail import mail_account
from boka.models.catalog import Service
from boka.payments.card_checkout import card_checkout_for
from boka.models.tenancy import Role, Tenant
from boka.notifications.account_mail import AccountMail
from boka.notifications.kinds import AccountMailKind
from boka.resolvers.context import Info
from boka.resolvers.identity import viewer_of
from boka.schema.business import (
    BusinessPage,
    BusinessSettingsPayload,
    BusinessSettingsType,
    SignUpBusinessInput,
    SignUpBusinessPayload,
    UpdateBusinessSettingsInput,
)
from boka.schema.identity import TenantType
from boka.schema.rate_limits import admin_limited, auth_limited
from boka.schema.transactions import attempt, write


async def sign_up_business(info: Info, input: SignUpBusinessInput) -> SignUpBusinessPayload:
    """A business and its owner, through the API alone (see BOKA_PUBLIC_SIGNUP)."""
    context = info.context
    runtime = context.runtime
    may_sign_up(context.principal, public_signup=runtime.settings.public_signup_open)
    owner = input.owner
    details = BusinessInput(
        business_name=input.business_name, time_zone=input.time_zone, currency=input.currency,
        slug=input.slug, country=input.country, locale=input.locale,
        owner=OwnerInput(owner.email, owner.password, owner.first_name, owner.last_name) if owner else None,
    )

    async def work() -> SignedUpBusiness:
        async with runtime.database.transaction(write=True) as db:
            return await create_business(
                db, context.principal, details, device=context.device,
                session_ttl=runtime.identity.session_ttl,
                verification_ttl=timedelta(hours=runtime.settings.email_verification_hours),
            )

    made, errors = await attempt(work())
    if made is None:
        return SignUpBusinessPayload(errors=errors)
    if made.verification_token:
        await mail_account(runtime, AccountMail(
            kind=AccountMailKind.VERIFY_EMAIL, to=made.owner.email, token=made.verification_token,
            tenant_id=made.tenant.id, business_name=made.tenant.name,
        ))
    payload = SignUpBusinessPayload(tenant=TenantType.from_model(made.tenant))
    if made.session is not None:
        context.remember_session(made.session.token, made.session.session.expires_at)
        payload.token = made.session.token
        payload.expires_at = made.session.session.expires_at
        payload.viewer = viewer_of(Principal.build(
            user=made.owner, session_id=made.session.session.id, tenant=made.tenant, role=Role.OWNER
        ))
    return payload


async def business_settings(info: Info) -> BusinessSettingsType:
    """The request tenant's settings (owners and managers)."""
    settings = read_business_settings(info.context.principal)
    return BusinessSettingsType.from_settings(settings, defaults_of(info.context.principal.require_tenant()))


async def update_settings(info: Info, input: UpdateBusinessSettingsInput) -> BusinessSettingsPayload:
    tenant, errors = await write(info, lambda db, principal: update_business_settings(
        db, principal, input.to_settings(), origin=info.context.device,
        defaults=input.defaults.to_change() if input.defaults else None,
    ))
    if tenant is None:
        return BusinessSettingsPayload(errors=errors)
    return BusinessSettingsPayload(settings=BusinessSettingsType.from_settings(settings_of(tenant), defaults_of(tenant)))


async def business(info: Info, slug: str) -> BusinessPage | None:
    """A business's booking page by its slug, for anyone; null when there is no such business."""
    _ = info.context.principal  # resolved first: a credential sent to the wrong tenant is refused
    database = info.context.runtime.database
    async with database.transaction() as db:
        tenant = (await db.execute(
            sa.select(Tenant).where(Tenant.slug == slug.strip().lower())
        )).scalar_one_or_none()
    if tenant is None:
        return None
    if not info.context.principal.is_superadmin:
        check_open(tenant)  # TENANT_SUSPENDED: the page says the business is closed
    async with database.transaction(tenant.id) as db:
        services = list((await db.execute(
            sa.select(Service).where(Service.tenant_id == tenant.id, Service.active.is_(True))
            .order_by(Service.created_at, Service.id).limit(200)
        )).scalars())
    checkout = card_checkout_for(info.context.runtime.settings)
    return BusinessPage.from_profile(public_profile(tenant), services, checkout)


@strawberry.type
class BusinessQuery:
    business_settings: BusinessSettingsType = strawberry.field(resolver=business_settings)
    business: BusinessPage | None = strawberry.field(
        resolver=business, description="A booking page's public view of a business, without signing in."
    )


@strawberry.type
class BusinessMutation:
    sign_up_business: SignUpBusinessPayload = strawberry.field(
        resolver=sign_up_business, extensions=auth_limited(),
        description="Create a business and its owner account; the owner is mailed a verification link.",
    )
    update_business_settings: BusinessSettingsPayload = strawberry.field(
        resolver=update_settings, extensions=admin_limited(), description="Owners only."
    )
