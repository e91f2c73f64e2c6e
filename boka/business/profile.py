"""A business's settings: the tenant's columns (name, zone, currency) and its profile, kept in
``tenant.settings["business"]`` (locale, country, contact, address, logo, brand colour, the
booking page's texts). Owners change them; managers read them; a booking page reads the public
part through :func:`public_profile` without signing in.

The currency changes only while nothing is priced in it (no service, booking or payment):
amounts are stored in minor units of the tenant's currency, so switching it later would change
what every price means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.business.defaults import DefaultsChange, apply_defaults_change, checked_defaults
from boka.errors import UserErrorCode, UserInputError, raise_collected
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Booking
from boka.models.catalog import Service
from boka.models.payments import Payment
from boka.models.tenancy import Tenant

KEY = "business"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
TEXT_LIMITS = {"address": 500, "booking_page_title": 120, "booking_page_intro": 2000}


@dataclass(frozen=True)
class BusinessSettings:
    """Everything an owner sets. ``None`` in a change means 'leave as it is'; for the optional
    profile fields, an empty string clears them."""

    name: str | None = None
    time_zone: str | None = None
    currency: str | None = None
    locale: str | None = None
    country: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    logo_url: str | None = None
    brand_color: str | None = None
    booking_page_title: str | None = None
    booking_page_intro: str | None = None


PROFILE_FIELDS = tuple(f.name for f in fields(BusinessSettings) if f.name not in ("name", "time_zone", "currency"))


def profile_of(tenant: Tenant) -> dict[str, Any]:
    return dict((tenant.settings or {}).get(KEY) or {})


def set_profile(tenant: Tenant, values: dict[str, Any]) -> None:
    stored = {**profile_of(tenant), **values}
    tenant.settings = {**(tenant.settings or {}), KEY: {k: v for k, v in stored.items() if v}}


def settings_of(tenant: Tenant) -> BusinessSettings:
    profile = profile_of(tenant)
    return BusinessSettings(
        name=tenant.name, time_zone=tenant.time_zone, currency=tenant.currency,
        **{name: profile.get(name) for name in PROFILE_FIELDS},
    )


def read_business_settings(principal: Principal) -> BusinessSettings:
    principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)  # managers read
    return settings_of(principal.require_tenant())


async def update_business_settings(
    db: AsyncSession, principal: Principal, changes: BusinessSettings, *, origin: DeviceInfo,
    defaults: DefaultsChange | None = None,
) -> Tenant:
    """Owners change the business's settings; every bad field is reported, nothing written."""
    principal.authorize(Action.USER_MANAGE, Scope.TENANT)
    tenant = await db.get(Tenant, principal.require_tenant().id)
    assert tenant is not None
    profile, errors = _checked_profile(changes)
    for value, check, field in (
        (changes.name, validate_name, "name"),
        (changes.time_zone, validate_time_zone, "timeZone"),
        (changes.currency, validate_currency, "currency"),
    ):
        if value is not None:
            try:
                check(value, field)
            except UserInputError as error:
                errors.append(error)
    currency = changes.currency.strip().upper() if changes.currency is not None else None
    if currency and currency != tenant.currency and not errors and await currency_in_use(db, tenant):
        errors.append(UserInputError(
            UserErrorCode.CURRENCY_IN_USE,
            f"Prices and bookings are already in {tenant.currency}; the currency can change only "
            "before the first service is priced.", "currency"))
    if defaults is not None:
        errors.extend(checked_defaults(defaults))
    raise_collected(errors)
    changed = sorted(name for name, value in vars(changes).items() if value is not None)
    if defaults is not None:
        changed += [f"defaults.{name}" for name in apply_defaults_change(tenant, defaults)]
    if changes.name is not None:
        tenant.name = changes.name.strip()
    if changes.time_zone is not None:
        tenant.time_zone = changes.time_zone
    if currency:
        tenant.currency = currency
    set_profile(tenant, profile)
    await db.flush()
    log_event(db, AuthEvent.TENANT_SETTINGS_CHANGED, origin=origin, success=True,
              user_id=principal.actor_user_id, tenant_id=tenant.id, details={"fields": changed})
    return tenant


async def currency_in_use(db: AsyncSession, tenant: Tenant) -> bool:
    for model in (Service, Booking, Payment):
        found = await db.execute(sa.select(sa.literal(1)).where(model.tenant_id == tenant.id).limit(1))
        if found.first() is not None:
            return True
    return False


def _checked_profile(changes: BusinessSettings) -> tuple[dict[str, Any], list[UserInputError]]:
    checks = {
        "locale": validate_locale, "country": validate_country, "contact_email": _email,
        "contact_phone": _phone, "logo_url": _https_url, "brand_color": _colour,
    }
    profile: dict[str, Any] = {}
    errors: list[UserInputError] = []
    for name in PROFILE_FIELDS:
        value = getattr(changes, name)
        if value is None:
            continue
        value = value.strip()
        field = _camel(name)
        try:
            if value:
                if name in checks:
                    checks[name](value, field)
                elif len(value) > TEXT_LIMITS[name]:
                    raise UserInputError(UserErrorCode.INVALID_INPUT,
                                         f"Use at most {TEXT_LIMITS[name]} characters.", field)
        except UserInputError as error:
            errors.append(error)
        profile[name] = value.upper() if name == "country" else value
    return profile, errors


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _invalid(message: str, field: str) -> UserInputError:
    return UserInputError(UserErrorCode.INVALID_INPUT, message, field)


def validate_name(name: str, field: str) -> None:
    if not name.strip() or len(name) > 200:
        raise _invalid("Give a name of 1-200 characters.", field)


def validate_time_zone(zone: str, field: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _invalid(f"Unknown time zone '{zone}'; use an IANA name such as Europe/Berlin.", field) from exc


def validate_currency(currency: str, field: str) -> None:
    if not re.fullmatch(r"[A-Z]{3}", currency.strip().upper()):
        raise _invalid("Use an ISO 4217 code such as EUR.", field)


def validate_country(country: str, field: str) -> None:
    if not _COUNTRY.match(country.strip().upper()):
        raise _invalid("Use an ISO 3166 two-letter code such as DE.", field)


def validate_locale(locale: str, field: str) -> None:
    if not _LOCALE.match(locale.strip()):
        raise _invalid("Use a locale such as en or de-DE.", field)


def _email(value: str, field: str) -> None:
    if not re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+", value) or len(value) > 254:
        raise _invalid("Enter a valid email address.", field)


def _phone(value: str, field: str) -> None:
    if not _PHONE.match(value):
        raise _invalid("Enter a phone number such as +49 30 1234567.", field)


def _https_url(value: str, field: str) -> None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or len(value) > 500:
        raise _invalid("Use an https:// address of at most 500 characters.", field)


def _colour(value: str, field: str) -> None:
    if not _COLOUR.match(value):
        raise _invalid("Use a colour such as #1a73e8.", field)


@dataclass(frozen=True)
class PublicProfile:
    """What a booking page shows before anyone signs in: nothing private."""

    tenant: Tenant
    name: str
    time_zone: str
    currency: str
    locale: str | None
    logo_url: str | None
    brand_color: str | None
    booking_page_title: str | None
    booking_page_intro: str | None


def public_profile(tenant: Tenant) -> PublicProfile:
    profile = profile_of(tenant)
    return PublicProfile(
        tenant=tenant, name=tenant.name, time_zone=tenant.time_zone, currency=tenant.currency,
        **{k: profile.get(k) for k in ("locale", "logo_url", "brand_color", "booking_page_title",
                                       "booking_page_intro")},
    )
