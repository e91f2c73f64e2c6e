"""A business's defaults: the weekly hours a new staff member starts with and the booking policy
(notice, advance, cancellation window, late refund, late reschedule) a new service starts with.

They live in ``tenant.settings["defaults"]``; owners set them with updateBusinessSettings and
managers read them with the rest of the settings. They apply only when something is created and
only to what the request leaves out: an explicit value in createService always wins, and changing
a default never rewrites services or staff that exist already (their policy is what customers
booked under).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from datetime import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import SERVICE_LIMITS, ServiceFields
from boka.booking.policies import LateReschedule
from boka.booking.schedules import HoursInterval, check_week
from boka.errors import UserInputError
from boka.models.tenancy import Tenant
from boka.validation import check_range

KEY = "defaults"
POLICY_FIELDS = (
    "min_notice_minutes", "max_advance_days", "free_cancel_hours", "late_cancel_refund_percent",
)
INPUT_FIELDS = {
    "min_notice_minutes": "defaults.minNoticeMinutes",
    "max_advance_days": "defaults.maxAdvanceDays",
    "free_cancel_hours": "defaults.freeCancelHours",
    "late_cancel_refund_percent": "defaults.lateCancelRefundPercent",
}


@dataclass(frozen=True)
class BusinessDefaults:
    """``None`` means 'no default of the business' (the platform's own applies)."""

    weekly_hours: tuple[HoursInterval, ...] | None = None
    min_notice_minutes: int | None = None
    max_advance_days: int | None = None
    free_cancel_hours: int | None = None
    late_cancel_refund_percent: int | None = None
    late_reschedule: LateReschedule | None = None


@dataclass(frozen=True)
class DefaultsChange:
    """What updateBusinessSettings asks: ``None`` leaves a default as it is; ``weekly_hours=()``
    removes the default week."""

    weekly_hours: tuple[HoursInterval, ...] | None = None
    min_notice_minutes: int | None = None
    max_advance_days: int | None = None
    free_cancel_hours: int | None = None
    late_cancel_refund_percent: int | None = None
    late_reschedule: LateReschedule | None = None


async def current_defaults(db: AsyncSession, tenant_id: uuid.UUID) -> BusinessDefaults:
    """The defaults as stored now (read in the transaction, not from the request's cached tenant)."""
    settings = (await db.execute(sa.select(Tenant.settings).where(Tenant.id == tenant_id))).scalar_one_or_none()
    return _parse((settings or {}).get(KEY))


def defaults_of(tenant: Tenant) -> BusinessDefaults:
    return _parse((tenant.settings or {}).get(KEY))


def _parse(raw: dict[str, Any] | None) -> BusinessDefaults:
    stored: dict[str, Any] = dict(raw or {})
    week = stored.get("weekly_hours")
    return BusinessDefaults(
        weekly_hours=tuple(
            HoursInterval(weekday=row["weekday"], start=time.fromisoformat(row["start"]),
                          end=time.fromisoformat(row["end"]), is_break=row.get("is_break", False))
            for row in week
        ) if week else None,
        late_reschedule=LateReschedule(stored["late_reschedule"]) if stored.get("late_reschedule") else None,
        **{name: stored.get(name) for name in POLICY_FIELDS},
    )


def checked_defaults(change: DefaultsChange) -> list[UserInputError]:
    """Every bad value of ``change`` as a typed error (fields as the client sent them)."""
    errors: list[UserInputError] = []
    for name, field in INPUT_FIELDS.items():
        value = getattr(change, name)
        if value is None:
            continue
        _, low, high = SERVICE_LIMITS[name]
        try:
            check_range(value, field, low, high)
        except UserInputError as error:
            errors.append(error)
    if change.weekly_hours:
        try:
            check_week(change.weekly_hours)
        except UserInputError as error:
            errors.append(UserInputError(error.code, error.message,
                                         "defaults." + (error.field or "intervals").replace("intervals", "weeklyHours")))
    return errors


def apply_defaults_change(tenant: Tenant, change: DefaultsChange) -> list[str]:
    """Store ``change`` (already checked) in the tenant; the names of the defaults it touched."""
    stored: dict[str, Any] = dict((tenant.settings or {}).get(KEY) or {})
    touched: list[str] = []
    for item in fields(change):
        value = getattr(change, item.name)
        if value is None:
            continue
        touched.append(item.name)
        if item.name == "weekly_hours":
            stored[item.name] = [
                {"weekday": i.weekday, "start": i.start.isoformat(), "end": i.end.isoformat(),
                 "is_break": i.is_break}
                for i in value
            ] or None
        elif item.name == "late_reschedule":
            stored[item.name] = LateReschedule(value).value
        else:
            stored[item.name] = value
    tenant.settings = {**(tenant.settings or {}), KEY: {k: v for k, v in stored.items() if v is not None}}
    return touched


async def with_service_defaults(db: AsyncSession, tenant: Tenant, values: ServiceFields) -> ServiceFields:
    """``values`` with the business's defaults filled in where the request gave nothing."""
    defaults = await current_defaults(db, tenant.id)
    filled = {
        name: getattr(defaults, name)
        for name in (*POLICY_FIELDS, "late_reschedule")
        if getattr(values, name) is None and getattr(defaults, name) is not None
    }
    return replace(values, **filled) if filled else values


async def default_week(db: AsyncSession, tenant: Tenant) -> tuple[HoursInterval, ...]:
    return (await current_defaults(db, tenant.id)).weekly_hours or ()
