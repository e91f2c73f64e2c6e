"""Picking a message's wording (tenant override or default) and the values it is filled with,
formatted for the reader's language and time zone."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.models.notifications import NotificationTemplate
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.templates import Wording, default_wording

_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "de": ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# ISO 4217 currencies without minor units (the rest used here have two).
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF", "HUF"})


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


def local_date(moment: datetime, zone: str, language: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    weekday = _WEEKDAYS.get(language, _WEEKDAYS["en"])[local.weekday()]
    if language == "de":
        return f"{weekday} {local.day}.{local.month}.{local.year}"
    return f"{weekday} {local.day} {_MONTHS_EN[local.month - 1]} {local.year}"


def local_time(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def money(amount_cents: int, currency: str, language: str) -> str:
    if currency.upper() in _ZERO_DECIMAL:
        number = f"{amount_cents}"
    else:
        number = f"{amount_cents // 100}.{amount_cents % 100:02d}"
        if language == "de":
            number = number.replace(".", ",")
    return f"{number} {currency.upper()}"
