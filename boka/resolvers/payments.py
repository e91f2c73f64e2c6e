"""Resolvers for payment policies, and the jobs a payment mutation enqueues once its
transaction has committed (a job enqueued earlier could run before the rows it needs exist).
Should enqueueing fail after the commit, the hold-expiry sweep still frees the slot."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from boka.identity.principal import Principal
from boka.jobs import holds as hold_jobs
from boka.jobs import payments as payment_jobs
from boka.models.payments import PaymentMode, PaymentStatus, Refund, ServicePaymentPolicy
from boka.models.types import utcnow
from boka.payments.checkout import Checkout
from boka.payments.policies import PolicyChange, set_payment_policy
from boka.payments.refunds import CancellationMoney
from boka.payments.reschedules import RescheduleMoney
from boka.resolvers.context import Info
from boka.runtime import Runtime
from boka.schema.ids import row_id
from boka.schema.payments import (
    ServicePaymentPolicyType,
    SetServicePaymentPolicyInput,
    SetServicePaymentPolicyPayload,
)
from boka.schema.transactions import write


async def after_checkout(runtime: Runtime, checkout: Checkout) -> None:
    hold = checkout.hold
    if hold is not None and checkout.payment.status != PaymentStatus.SUCCEEDED.value:
        await hold_jobs.enqueue_hold_expiry(runtime, hold.id, hold.expires_at)


async def after_refund(runtime: Runtime, refund: Refund) -> None:
    """After the commit: the refund job sends a refund the transaction recorded."""
    await payment_jobs.enqueue_refund(runtime, refund.id)


async def after_cancellation(runtime: Runtime, money: CancellationMoney) -> None:
    for refund in money.refunds:
        await after_refund(runtime, refund)
    for _provider, provider_payment_id in money.cancel_provider_payments:
        await payment_jobs.enqueue_provider_cancel(runtime, provider_payment_id)


async def after_reschedule(runtime: Runtime, money: RescheduleMoney) -> None:
    """After the commit: refunds to send, a top-up's expiry, replaced top-ups to cancel."""
    for refund in money.refunds:
        await after_refund(runtime, refund)
    top_up = money.top_up.payment if money.top_up is not None else None
    if top_up is not None and top_up.status != PaymentStatus.SUCCEEDED.value and top_up.expires_at:
        await payment_jobs.enqueue_payment_expiry(runtime, top_up.id, top_up.expires_at)
    for _provider, provider_payment_id in money.cancel_provider_payments:
        await payment_jobs.enqueue_provider_cancel(runtime, provider_payment_id)


async def set_service_payment_policy(
    info: Info, input: SetServicePaymentPolicyInput
) -> SetServicePaymentPolicyPayload:
    """How a service is paid: on site (the default), a deposit (an amount or a percentage of
    the price) or in full up front, and the no-show fee. Managers and owners."""
    async def work(db: AsyncSession, principal: Principal) -> ServicePaymentPolicy:
        change = PolicyChange(
            service_id=row_id(input.service_id, "Service", "serviceId"),
            mode=PaymentMode(input.mode), deposit_cents=input.deposit_amount,
            deposit_percent=input.deposit_percent, no_show_fee_percent=input.no_show_fee_percent,
        )
        return await set_payment_policy(db, principal, change, now=utcnow())

    policy, errors = await write(info, work)
    return SetServicePaymentPolicyPayload(
        policy=ServicePaymentPolicyType.from_model(policy) if policy else None, errors=errors
    )


@strawberry.type
class PaymentMutation:
    set_service_payment_policy: SetServicePaymentPolicyPayload = strawberry.field(
        resolver=set_service_payment_policy
    )
