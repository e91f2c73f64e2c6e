"""Who wants which messages: a customer's channels and language, a tenant's reminder lead
times and language, and signed unsubscribe links.

Both live in the JSON columns that already exist for such settings (``customers.preferences``
and ``tenants.settings``, under the key ``notifications``), so they need no tables of their own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from boka.config import Settings
from boka.errors import UserErrorCode, UserInputError
from boka.models.bookings import Customer
from boka.models.tenancy import Tenant
from boka.notifications.kinds import Channel
from boka.notifications.templates import LANGUAGES
from boka.signed_tokens import SignedIdToken

KEY = "notifications"
DEFAULT_CHANNELS = (Channel.EMAIL,)
DEFAULT_REMINDER_MINUTES = (24 * 60, 2 * 60)
MAX_REMINDERS = 5
MAX_LEAD_MINUTES = 30 * 24 * 60
DEFAULT_AGENDA_HOUR = 7
UNSUBSCRIBE_PREFIX = "bku_"
_UNSUBSCRIBE = SignedIdToken(UNSUBSCRIBE_PREFIX, b"unsubscribe:")


@dataclass(frozen=True)
class CustomerPreferences:
    channels: tuple[Channel, ...]  # empty: the customer opted out of everything
    language: str | None


def customer_preferences(customer: Customer) -> CustomerPreferences:
    stored = (customer.preferences or {}).get(KEY) or {}
    raw_channels = stored.get("channels")
    channels = DEFAULT_CHANNELS if raw_channels is None else tuple(
        Channel(value) for value in raw_channels if value in Channel._value2member_map_
    )
    return CustomerPreferences(channels=channels, language=stored.get("language"))


def set_customer_preferences(
    customer: Customer, *, channels: list[Channel] | None, language: str | None
) -> CustomerPreferences:
    """Change what was given (None leaves a field alone). SMS needs a phone number."""
    stored = dict((customer.preferences or {}).get(KEY) or {})
    if channels is not None:
        unique = list(dict.fromkeys(channels))
        if Channel.SMS in unique and not customer.phone:
            raise UserInputError(
                UserErrorCode.INVALID_INPUT, "Add a phone number before choosing SMS.", "channels"
            )
        stored["channels"] = [channel.value for channel in unique]
    if language is not None:
        stored["language"] = validate_language(language)
    # A new dict, so the JSON column is seen as changed.
    customer.preferences = {**(customer.preferences or {}), KEY: stored}
    return customer_preferences(customer)


def opt_out(customer: Customer) -> None:
    set_customer_preferences(customer, channels=[], language=None)


def validate_language(language: str, field: str = "language") -> str:
    if language not in LANGUAGES:
        raise UserInputError(
            UserErrorCode.INVALID_INPUT,
            f"Messages are available in: {', '.join(LANGUAGES)}.", field,
        )
    return language


def message_language(customer: Customer | None, tenant: Tenant, settings: Settings) -> str:
    """The customer's language if they chose one, else the tenant's, else the default."""
    if customer is not None:
        chosen = customer_preferences(customer).language
        if chosen:
            return chosen
    return tenant_language(tenant) or settings.default_language


def tenant_language(tenant: Tenant) -> str | None:
    return ((tenant.settings or {}).get(KEY) or {}).get("language")


def reminder_lead_minutes(tenant: Tenant) -> tuple[int, ...]:
    stored = ((tenant.settings or {}).get(KEY) or {}).get("reminder_lead_minutes")
    return DEFAULT_REMINDER_MINUTES if stored is None else tuple(int(m) for m in stored)


def agenda_hour(tenant: Tenant) -> int:
    return int(((tenant.settings or {}).get(KEY) or {}).get("agenda_hour", DEFAULT_AGENDA_HOUR))


def set_tenant_notification_settings(
    tenant: Tenant,
    *,
    reminder_lead_minutes: list[int] | None = None,
    language: str | None = None,
    agenda_hour: int | None = None,
) -> None:
    stored = dict((tenant.settings or {}).get(KEY) or {})
    if reminder_lead_minutes is not None:
        leads = sorted(set(reminder_lead_minutes), reverse=True)
        if len(leads) > MAX_REMINDERS:
            raise UserInputError(
                UserErrorCode.INVALID_INPUT, f"At most {MAX_REMINDERS} reminders.", "reminderLeadMinutes"
            )
        if any(lead < 1 or lead > MAX_LEAD_MINUTES for lead in leads):
            raise UserInputError(
                UserErrorCode.INVALID_INPUT,
                "A reminder goes out between 1 minute and 30 days before the booking.",
                "reminderLeadMinutes",
            )
        stored["reminder_lead_minutes"] = leads
    if language is not None:
        stored["language"] = validate_language(language)
    if agenda_hour is not None:
        if not 0 <= agenda_hour <= 23:
            raise UserInputError(UserErrorCode.INVALID_INPUT, "An hour from 0 to 23.", "agendaHour")
        stored["agenda_hour"] = agenda_hour
    tenant.settings = {**(tenant.settings or {}), KEY: stored}


def unsubscribe_token(secret: str, customer_id: uuid.UUID) -> str:
    return _UNSUBSCRIBE.sign(secret, customer_id)


def customer_id_from_unsubscribe_token(secret: str, token: str) -> uuid.UUID | None:
    return _UNSUBSCRIBE.verify(secret, token)


def unsubscribe_url(settings: Settings, customer_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/notifications/unsubscribe/{unsubscribe_token(settings.secret_key, customer_id)}"
