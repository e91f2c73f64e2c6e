"""Booking policies that hold on every path: what a reschedule inside the cancellation window
does, whether one customer may hold overlapping appointments, and the tenant's limits on one
customer's bookings (how many still to come, the least gap between two).

Pure rules plus the one query the overlap rule needs; the engine (create) and changes
(reschedule) call them, so no path around them exists.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.refusals import RefusalReason
from boka.errors import UserErrorCode, UserInputError
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import ACTIVE_STATUSES, Booking
from boka.models.catalog import Service
from boka.models.tenancy import Tenant
from boka.validation import check_range

ALLOW_OVERLAP_SETTING = "allow_overlapping_customer_bookings"


class LateReschedule(str, enum.Enum):
    """What a reschedule inside the service's cancellation window does."""

    REFUSE = "refuse"  # refused (cancel instead, under the cancellation policy)
    FEE = "fee"  # allowed; the booking takes on the fee a late cancellation would keep


def in_cancellation_window(service: Service, start: datetime, now: datetime) -> bool:
    """Later than ``free_cancel_hours`` before ``start``: cancelling now is no longer free."""
    return now > start - timedelta(hours=service.free_cancel_hours)


def late_fee(service: Service, price_cents: int) -> int:
    """What a late cancellation of ``price_cents`` keeps: the price less the refunded share,
    with the same rounding as the refund (down, in the business's favour)."""
    return price_cents - price_cents * service.late_cancel_refund_percent // 100


@dataclass(frozen=True)
class RescheduleTerms:
    late: bool  # inside the cancellation window of the booking's current start
    fee_cents: int  # added to the booking's price and kept by any later cancellation
    overridden: bool  # staff moved it inside the window without the policy's refusal or fee

    def history(self) -> dict[str, Any]:
        return {"late": self.late, "fee_cents": self.fee_cents, "policy_overridden": self.overridden}


def reschedule_terms(
    service: Service, booking: Booking, *, now: datetime, override: bool
) -> RescheduleTerms:
    """Outside the window a move is free. Inside it the service's ``late_reschedule`` decides:
    refused, or allowed with the late-cancellation fee on the booking's price before fees.
    ``override`` (staff, managers and owners only; the caller checks) waives either."""
    if not in_cancellation_window(service, booking.start_time, now):
        return RescheduleTerms(late=False, fee_cents=0, overridden=False)
    if override:
        return RescheduleTerms(late=True, fee_cents=0, overridden=True)
    if service.late_reschedule == LateReschedule.FEE.value:
        fee = late_fee(service, booking.price_cents - booking.kept_fee_cents)
        return RescheduleTerms(late=True, fee_cents=fee, overridden=False)
    raise UserInputError(
        UserErrorCode.RESCHEDULE_NOT_ALLOWED,
        f"Within {service.free_cancel_hours} hours of its start this booking can no longer be "
        "moved; it can still be cancelled under the cancellation policy.",
        "start",
    )


async def allows_customer_overlap(db: AsyncSession, tenant_id: uuid.UUID) -> bool:
    """Read from the row, not the request's (cached) tenant: a change applies at once."""
    settings = (
        await db.execute(sa.select(Tenant.settings).where(Tenant.id == tenant_id))
    ).scalar_one_or_none()
    return bool((settings or {}).get(ALLOW_OVERLAP_SETTING, False))


async def set_customer_overlap(db: AsyncSession, principal: Principal, *, allowed: bool) -> bool:
    """Managers and owners decide whether a customer may hold overlapping appointments."""
    principal.authorize(Action.SERVICE_MANAGE, Scope.TENANT)
    statement = sa.select(Tenant).where(Tenant.id == principal.require_tenant().id)
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    tenant = (await db.execute(statement)).scalar_one()
    tenant.settings = {**(tenant.settings or {}), ALLOW_OVERLAP_SETTING: allowed}
    await db.flush()
    return allowed


@dataclass(frozen=True)
class CustomerRules:
    """Limits on one customer's bookings, the tenant's: at most ``max_future_bookings`` active
    bookings still to come, and at least ``min_gap_minutes`` from the end of one to the start of
    the next (``None``: no such limit)."""

    max_future_bookings: int | None = None
    min_gap_minutes: int | None = None


MAX_FUTURE_BOOKINGS_SETTING = "customer_max_future_bookings"
MIN_GAP_SETTING = "customer_min_gap_minutes"
MAX_FUTURE_BOOKINGS = 10_000
MAX_CUSTOMER_GAP_MINUTES = 60 * 24 * 90  # the longest advance window a service has


def customer_rules(settings: dict[str, Any] | None) -> CustomerRules:
    settings = settings or {}
    return CustomerRules(settings.get(MAX_FUTURE_BOOKINGS_SETTING), settings.get(MIN_GAP_SETTING))


async def read_customer_rules(db: AsyncSession, tenant_id: uuid.UUID) -> CustomerRules:
    settings = (
        await db.execute(sa.select(Tenant.settings).where(Tenant.id == tenant_id))
    ).scalar_one_or_none()
    return customer_rules(settings)


async def set_customer_rules(db: AsyncSession, principal: Principal, rules: CustomerRules) -> CustomerRules:
    """Managers and owners set (or, with ``None``, lift) the limits on customers' bookings."""
    principal.authorize(Action.SERVICE_MANAGE, Scope.TENANT)
    if rules.max_future_bookings is not None:
        check_range(rules.max_future_bookings, "maxFutureBookings", 1, MAX_FUTURE_BOOKINGS)
    if rules.min_gap_minutes is not None:
        check_range(rules.min_gap_minutes, "minGapMinutes", 1, MAX_CUSTOMER_GAP_MINUTES)
    statement = sa.select(Tenant).where(Tenant.id == principal.require_tenant().id)
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    tenant = (await db.execute(statement)).scalar_one()
    tenant.settings = {
        **(tenant.settings or {}),
        MAX_FUTURE_BOOKINGS_SETTING: rules.max_future_bookings,
        MIN_GAP_SETTING: rules.min_gap_minutes,
    }
    await db.flush()
    return rules


def _customer_limit_reached(message: str) -> UserInputError:
    return UserInputError(
        UserErrorCode.SLOT_UNAVAILABLE, message, "start", reasons=(RefusalReason.LIMIT_REACHED.value,)
    )


async def refuse_customer_conflicts(
    db: AsyncSession, tenant: Tenant, *, customer_id: uuid.UUID, start: datetime, end: datetime,
    now: datetime, ignore_booking_id: uuid.UUID | None = None,
) -> None:
    """One customer, one place at a time: an active booking of the customer overlapping
    [start, end) refuses the new time (CUSTOMER_OVERLAP), unless the tenant allows overlaps.
    And the tenant's ``CustomerRules``: one more active booking to come than
    ``max_future_bookings``, or less than ``min_gap_minutes`` between this one and the
    customer's nearest other booking before or after, refuses it (SLOT_UNAVAILABLE with
    LIMIT_REACHED). On PostgreSQL the customer's bookings queue on an advisory lock first, so
    two racing requests cannot both pass the checks (SQLite has one writer). Two statements:
    the lock, then the tenant's settings and the customer's bookings as the rules need them, in
    one read (taken after the lock, so it sees the winner's row)."""
    if db.bind.dialect.name == "postgresql":
        await db.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"boka:customer-time:{customer_id}"},
        )
    others = sa.and_(
        Booking.tenant_id == tenant.id,
        Booking.customer_id == customer_id,
        Booking.status.in_(ACTIVE_STATUSES),
        Booking.id != ignore_booking_id if ignore_booking_id is not None else sa.true(),
    )
    overlapping = sa.select(Booking.id).where(others, Booking.start_time < end, Booking.end_time > start)
    settings, overlaps, to_come, previous_end, next_start = (await db.execute(sa.select(
        sa.select(Tenant.settings).where(Tenant.id == tenant.id).scalar_subquery(),
        sa.exists(overlapping),
        sa.select(sa.func.count()).where(others, Booking.start_time >= now).scalar_subquery(),
        sa.select(sa.func.max(Booking.end_time)).where(others, Booking.end_time <= start).scalar_subquery(),
        sa.select(sa.func.min(Booking.start_time)).where(others, Booking.start_time >= end).scalar_subquery(),
    ))).one()
    if overlaps and not (settings or {}).get(ALLOW_OVERLAP_SETTING, False):
        raise UserInputError(
            UserErrorCode.CUSTOMER_OVERLAP,
            "This customer already has an appointment at this time.",
            "start",
        )
    rules = customer_rules(settings)
    if rules.max_future_bookings is not None and to_come + 1 > rules.max_future_bookings:
        raise _customer_limit_reached(
            f"A customer may hold at most {rules.max_future_bookings} upcoming bookings here."
        )
    gap = timedelta(minutes=rules.min_gap_minutes or 0)
    if gap and (
        (previous_end is not None and start - _aware(previous_end) < gap)
        or (next_start is not None and _aware(next_start) - end < gap)
    ):
        raise _customer_limit_reached(
            f"Leave at least {rules.min_gap_minutes} minutes between one booking and the next."
        )


def _aware(instant: datetime) -> datetime:
    """A scalar subquery's datetime (SQLite hands it back naive, in UTC)."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
