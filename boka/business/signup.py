"""Signing a business up: its tenant and its first owner, in one transaction.

Open to anyone only where ``BOKA_PUBLIC_SIGNUP`` is on (the embedded mode by default); in
production a superadmin signs businesses up. The owner is a new account (email and password),
or the signed-in account of the caller. The new account is sent an email verification link.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from boka.business.profile import (
    set_profile,
    validate_country,
    validate_currency,
    validate_locale,
    validate_name,
    validate_time_zone,
)
from boka.db import scope_to_tenant
from boka.errors import Forbidden, UserErrorCode, UserInputError, raise_collected
from boka.identity.account_tokens import issue_account_token
from boka.identity.accounts import find_user_by_email, normalize_email, register_user
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.memberships import add_membership
from boka.identity.passwords import check_password_strength
from boka.identity.principal import Principal
from boka.identity.sessions import IssuedSession, start_session
from boka.models.identity import User
from boka.models.onboarding import TokenPurpose
from boka.models.tenancy import Role, Tenant
from boka.models.types import utcnow
from boka.tenancy import SLUG_PATTERN, create_tenant, find_tenant

# Names a business may not take: they would read as Boka's own pages.
RESERVED_SLUGS = frozenset({
    "admin", "api", "app", "boka", "dashboard", "dev", "graphql", "health", "help", "login",
    "mail", "metrics", "root", "signup", "static", "status", "support", "www",
})
MAX_NAME = 100


@dataclass(frozen=True)
class OwnerInput:
    email: str
    password: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class BusinessInput:
    business_name: str
    time_zone: str
    currency: str
    slug: str | None = None
    country: str | None = None
    locale: str | None = None
    owner: OwnerInput | None = None


@dataclass(frozen=True)
class SignedUpBusiness:
    tenant: Tenant
    owner: User
    session: IssuedSession | None  # the new owner's session; None when a superadmin signed them up
    verification_token: str | None  # for the verification mail; None when already verified


def may_sign_up(principal: Principal, *, public_signup: bool) -> None:
    if not public_signup and not principal.is_superadmin:
        raise Forbidden("Signing up a business is closed here; a platform administrator creates tenants.")


async def sign_up_business(
    db: AsyncSession, principal: Principal, details: BusinessInput, *, device: DeviceInfo,
    session_ttl: timedelta, verification_ttl: timedelta, start_owner_session: bool = True,
) -> SignedUpBusiness:
    """Create the tenant and its owner. Every bad field is reported at once; nothing is written.
    ``start_owner_session=False`` (the operators' command line) signs nobody in."""
    signed_in = principal.user if principal.session_id is not None else None
    acting_for_self = signed_in is not None and not (principal.is_superadmin and details.owner)
    errors = _check_fields(details, owner_needed=not acting_for_self)
    if acting_for_self and details.owner is not None and signed_in is not None \
            and details.owner.email.strip().lower() != signed_in.email:
        errors.append(UserInputError(
            UserErrorCode.INVALID_INPUT,
            f"You are signed in as {signed_in.email}, who becomes the owner: leave owner out, "
            "or sign out to make a new account.", "owner.email",
        ))
    slug = await _choose_slug(db, details, errors)
    email = None
    if details.owner is not None and not acting_for_self:
        try:
            email = normalize_email(details.owner.email)
        except UserInputError as error:
            errors.append(UserInputError(error.code, error.message, "owner.email"))
        if email and await find_user_by_email(db, email) is not None:
            errors.append(UserInputError(
                UserErrorCode.EMAIL_TAKEN,
                "An account with this email already exists: sign in with it, then sign the business up.",
                "owner.email",
            ))
    raise_collected(errors)

    now = utcnow()
    tenant = await create_tenant(
        db, name=details.business_name, slug=slug, time_zone=details.time_zone,
        currency=details.currency.strip().upper(),
    )
    set_profile(tenant, {k: v for k, v in (("country", details.country), ("locale", details.locale)) if v})
    await scope_to_tenant(db, tenant.id)
    if acting_for_self:
        assert signed_in is not None
        owner = signed_in
    else:
        assert details.owner is not None and email is not None
        full_name = f"{details.owner.first_name.strip()} {details.owner.last_name.strip()}".strip()
        owner = await register_user(db, email=email, password=details.owner.password, full_name=full_name)
    await add_membership(db, tenant_id=tenant.id, user_id=owner.id, role=Role.OWNER)
    session = None
    if start_owner_session and (not principal.is_superadmin or acting_for_self):
        session = await start_session(db, owner, tenant_id=tenant.id, device=device, ttl=session_ttl)
    verification = None
    if owner.email_verified_at is None:
        verification = await issue_account_token(
            db, owner, TokenPurpose.VERIFY_EMAIL, ttl=verification_ttl, now=now
        )
        log_event(db, AuthEvent.EMAIL_VERIFICATION_SENT, origin=device, success=True,
                  user_id=owner.id, tenant_id=tenant.id)
    log_event(db, AuthEvent.BUSINESS_SIGNED_UP, origin=device, success=True,
              user_id=principal.actor_user_id or owner.id, tenant_id=tenant.id,
              details={"slug": tenant.slug, "owner_user_id": str(owner.id),
                       "new_account": not acting_for_self})
    return SignedUpBusiness(tenant=tenant, owner=owner, session=session, verification_token=verification)


def _check_fields(details: BusinessInput, *, owner_needed: bool) -> list[UserInputError]:
    checks = [
        lambda: validate_name(details.business_name, "businessName"),
        lambda: validate_time_zone(details.time_zone, "timeZone"),
        lambda: validate_currency(details.currency, "currency"),
    ]
    if details.country is not None:
        checks.append(lambda: validate_country(details.country or "", "country"))
    if details.locale is not None:
        checks.append(lambda: validate_locale(details.locale or "", "locale"))
    owner = details.owner
    if owner_needed and owner is None:
        checks.append(lambda: _missing("owner", "Give the owner's email, password and name, or sign in first."))
    if owner is not None and owner_needed:
        checks.append(lambda: _person_name(owner.first_name, "owner.firstName"))
        checks.append(lambda: _person_name(owner.last_name, "owner.lastName"))
        checks.append(lambda: _password(owner.password))
    errors: list[UserInputError] = []
    for check in checks:
        try:
            check()
        except UserInputError as error:
            errors.append(error)
    return errors


def _missing(field: str, message: str) -> None:
    raise UserInputError(UserErrorCode.INVALID_INPUT, message, field)


def _person_name(value: str, field: str) -> None:
    if not value.strip() or len(value) > MAX_NAME:
        raise UserInputError(UserErrorCode.INVALID_INPUT, f"Give a name of 1-{MAX_NAME} characters.", field)


def _password(password: str) -> None:
    try:
        check_password_strength(password)
    except UserInputError as error:
        raise UserInputError(error.code, error.message, "owner.password") from error


async def _choose_slug(db: AsyncSession, details: BusinessInput, errors: list[UserInputError]) -> str:
    """The slug asked for (checked), or one made from the business name (made unique)."""
    if details.slug is not None:
        slug = details.slug.strip().lower()
        if not SLUG_PATTERN.match(slug):
            errors.append(UserInputError(
                UserErrorCode.INVALID_INPUT, "Use 1-63 lower-case letters, digits and inner hyphens.", "slug"))
        elif slug in RESERVED_SLUGS or await find_tenant(db, slug) is not None:
            errors.append(UserInputError(UserErrorCode.SLUG_TAKEN, f"'{slug}' is taken.", "slug"))
        return slug
    stem = slug_from_name(details.business_name) or "business"
    candidate, n = stem, 1
    while candidate in RESERVED_SLUGS or await find_tenant(db, candidate) is not None:
        n += 1
        suffix = f"-{n}"
        candidate = stem[: 63 - len(suffix)].rstrip("-") + suffix
    return candidate


def slug_from_name(name: str) -> str:
    """'Café Zürich & Co.' -> 'cafe-zurich-co'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63].rstrip("-")
