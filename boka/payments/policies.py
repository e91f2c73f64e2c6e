"""What a service asks to be paid up front, and how much that is for a given price."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import NotFound, UserErrorCode, UserInputError
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.catalog import Service
from boka.models.payments import PaymentMode, ServicePaymentPolicy


@dataclass(frozen=True)
class PolicyChange:
    service_id: uuid.UUID
    mode: PaymentMode
    deposit_cents: int | None = None
    deposit_percent: int | None = None
    no_show_fee_percent: int = 0


def asks_up_front(policy: ServicePaymentPolicy | None) -> bool:
    return policy is not None and policy.mode != PaymentMode.ON_SITE.value


def amount_due_up_front(policy: ServicePaymentPolicy | None, price_cents: int) -> int:
    """Integer minor units; a deposit never exceeds the price."""
    if policy is None or policy.mode == PaymentMode.ON_SITE.value:
        return 0
    if policy.mode == PaymentMode.FULL.value:
        return price_cents
    if policy.deposit_cents is not None:
        return min(policy.deposit_cents, price_cents)
    return price_cents * (policy.deposit_percent or 0) // 100


def no_show_fee(policy: ServicePaymentPolicy | None, price_cents: int, already_paid: int) -> int:
    """The share of the price a no-show owes, less what was paid up front (kept)."""
    if policy is None or policy.no_show_fee_percent == 0:
        return 0
    return max(price_cents * policy.no_show_fee_percent // 100 - already_paid, 0)


async def policy_for(db: AsyncSession, service_id: uuid.UUID) -> ServicePaymentPolicy | None:
    return (
        await db.execute(
            sa.select(ServicePaymentPolicy).where(ServicePaymentPolicy.service_id == service_id)
        )
    ).scalar_one_or_none()


async def set_payment_policy(
    db: AsyncSession, principal: Principal, change: PolicyChange, *, now: datetime
) -> ServicePaymentPolicy:
    principal.authorize(Action.SERVICE_MANAGE, Scope.TENANT)
    tenant = principal.require_tenant()
    service = (
        await db.execute(
            sa.select(Service).where(Service.id == change.service_id, Service.tenant_id == tenant.id)
        )
    ).scalar_one_or_none()
    if service is None:
        raise NotFound("No such service.")
    _validate(change)
    policy = await policy_for(db, service.id)
    if policy is None:
        policy = ServicePaymentPolicy(service_id=service.id, tenant_id=tenant.id, mode=change.mode.value)
        db.add(policy)
    policy.mode = change.mode.value
    policy.deposit_cents = change.deposit_cents if change.mode == PaymentMode.DEPOSIT else None
    policy.deposit_percent = change.deposit_percent if change.mode == PaymentMode.DEPOSIT else None
    policy.no_show_fee_percent = change.no_show_fee_percent
    policy.updated_at = now
    await db.flush()
    return policy


def _validate(change: PolicyChange) -> None:
    if not 0 <= change.no_show_fee_percent <= 100:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "A percentage from 0 to 100.", "noShowFeePercent")
    if change.mode != PaymentMode.DEPOSIT:
        return
    if (change.deposit_cents is None) == (change.deposit_percent is None):
        raise UserInputError(
            UserErrorCode.INVALID_INPUT, "Give a deposit amount or a deposit percentage.", "depositAmount"
        )
    if change.deposit_cents is not None and change.deposit_cents <= 0:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "The deposit must be positive.", "depositAmount")
    if change.deposit_percent is not None and not 1 <= change.deposit_percent <= 100:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "A percentage from 1 to 100.", "depositPercent")
