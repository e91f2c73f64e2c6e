"""Picking a message's wording (tenant override or default) and the values it is filled with,
formatted for the reader's language and time zone."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.models.notifications import NotificationTemplate
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.templates import Wording, default_wording

if TYPE_CHECKING:
    from babel import Locale

# Names, separators and currency decimals come from CLDR through Babel, in the reader's language.
# A date is a short weekday and the day, month and year in the reader's order; a language with
# no pattern here gets its locale's medium date.
_DATE_PATTERNS = {"en": "EEE d MMM y", "de": "EEE d.M.y"}
# An amount in the reader's digits and separators with the currency's own number of decimals
# (none for JPY, three for KWD and BHD), then its ISO code: unambiguous in a receipt, where "$"
# could be several currencies (and Babel, lacking CLDR's currency spacing, would print
# "KWD1.500" with the English symbol-first pattern).
_MONEY_PATTERN = "#,##0.00 \u00a4\u00a4"
# SMS bodies are sent in the GSM 7-bit alphabet, which has no (narrow) no-break space.
_PLAIN_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


async def wording_for(
    db: AsyncSession, tenant_id: uuid.UUID, kind: MessageKind, channel: Channel, language: str
) -> Wording:
    override = (
        await db.execute(
            sa.select(NotificationTemplate).where(
                NotificationTemplate.tenant_id == tenant_id,
                NotificationTemplate.kind == kind.value,
                NotificationTemplate.channel == channel.value,
                NotificationTemplate.language == language,
            )
        )
    ).scalar_one_or_none()
    if override is not None:
        return Wording(subject=override.subject, body=override.body)
    return default_wording(kind, channel, language)


# Babel is imported where it is used: only message jobs format dates and amounts, and loading it
# costs every process (the app included) about 7 MiB and a noticeable share of its start-up.
def _locale(language: str) -> Locale:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def local_date(moment: datetime, zone: str, language: str) -> str:
    from babel.dates import format_date

    local = moment.astimezone(ZoneInfo(zone))
    locale = _locale(language)
    text = format_date(local.date(), _DATE_PATTERNS.get(locale.language, "medium"), locale=locale)
    return text.translate(_PLAIN_SPACES)


def local_time(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def money(amount_cents: int, currency: str, language: str) -> str:
    """``amount_cents`` in minor units of ``currency`` (as every amount in Boka is)."""
    from babel.numbers import format_currency, get_currency_precision

    code = currency.upper()
    amount = Decimal(amount_cents).scaleb(-get_currency_precision(code))
    text = format_currency(amount, code, format=_MONEY_PATTERN, locale=_locale(language))
    return text.translate(_PLAIN_SPACES)
