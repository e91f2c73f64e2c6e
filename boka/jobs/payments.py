"""Payment jobs (queue ``high``): webhook events, refunds, a top-up's expiry and cancelling a
payment at the provider (an unpaid booking's hold expires as every slot hold does:
boka/jobs/holds.py). Each
takes ids, opens the job's Runtime and calls boka/payments. Transient provider failures raise,
so the job retries with backoff."""

from __future__ import annotations

import uuid
from datetime import datetime

from boka.jobs.context import job_runtime
from boka.jobs.queues import EnqueuedJob
from boka.jobs.retry import RetryPolicy
from boka.models.payments import RefundStatus
from boka.models.types import utcnow
from boka.observability.logging import get_logger
from boka.payments import holds, refunds, webhooks
from boka.payments.providers import PaymentDeclined, PaymentRefused
from boka.runtime import Runtime

log = get_logger("boka.jobs.payments")
PAYMENT_RETRY = RetryPolicy.exponential(max_retries=6, base=5, factor=3, cap=1800)


async def process_payment_event(event_row_id: str) -> str:
    async with job_runtime() as runtime:
        async with runtime.database.transaction(write=True, all_tenants=True) as db:
            outcome = await webhooks.process_event(db, uuid.UUID(event_row_id), now=utcnow())
        if outcome is None:
            return "already processed"
        if outcome.refund_id is not None:
            await enqueue_refund(runtime, outcome.refund_id)
        return outcome.summary


async def send_refund(refund_id: str) -> str:
    async with job_runtime() as runtime:
        async with runtime.database.transaction(all_tenants=True) as db:
            request = await refunds.refund_to_send(db, uuid.UUID(refund_id))
        if request is None:
            return "nothing to do"
        try:
            result = await runtime.payment_provider.refund(
                request.provider_payment_id, amount_cents=request.amount_cents,
                idempotency_key=refunds.refund_idempotency_key(request.refund_id),
                metadata=request.metadata,
            )
        except (PaymentRefused, PaymentDeclined) as error:  # for good: recorded, not retried
            async with runtime.database.transaction(write=True, all_tenants=True) as db:
                await refunds.record_refund_result(
                    db, request.refund_id, provider_refund_id=None,
                    status=RefundStatus.FAILED.value, failure=str(error), now=utcnow(),
                )
            log.error("refund refused by the provider", refund_id=refund_id, error=str(error))
            return "refused"
        # (PaymentUnavailable propagates: the job is retried with backoff.)
        async with runtime.database.transaction(write=True, all_tenants=True) as db:
            await refunds.record_refund_result(
                db, request.refund_id, provider_refund_id=result.provider_refund_id,
                status=result.status, now=utcnow(),
            )
        return result.status


async def expire_payment_hold(payment_id: str) -> str:
    """The expiry of what waits for a payment, by the payment's id: a top-up, payable until its
    appointment starts, or (jobs enqueued before holds had their own rows) its booking's hold."""
    async with job_runtime() as runtime:
        async with runtime.database.transaction(write=True, all_tenants=True) as db:
            expiry = await holds.expire_payment(db, uuid.UUID(payment_id), now=utcnow())
        if expiry.due_at is not None:
            await enqueue_payment_expiry(runtime, uuid.UUID(payment_id), expiry.due_at, again=True)
            return "not yet due: looked at again when it is"
        if not expiry.expired:
            return "paid, or expired before"
        if expiry.provider_payment_id:
            await enqueue_provider_cancel(runtime, expiry.provider_payment_id)
        return "expired"


async def expire_overdue_top_ups() -> int:
    """The sweep's share: every overdue unpaid top-up in every tenant (catches those whose
    scheduled job was lost)."""
    async with job_runtime() as runtime:
        async with runtime.database.transaction(all_tenants=True) as db:
            overdue = await holds.overdue_top_ups(db, now=utcnow())
    for payment_id in overdue:
        await expire_payment_hold(str(payment_id))
    return len(overdue)


async def cancel_provider_payment(provider_payment_id: str) -> None:
    async with job_runtime() as runtime:
        await runtime.payment_provider.cancel_payment(provider_payment_id)


# Enqueueing, for producers (resolvers, webhooks, other jobs).

async def enqueue_refund(runtime: Runtime, refund_id: uuid.UUID) -> None:
    await runtime.jobs.enqueue(
        send_refund, str(refund_id), queue="high", job_id=f"refund:{refund_id}", retry=PAYMENT_RETRY
    )


async def enqueue_provider_cancel(runtime: Runtime, provider_payment_id: str) -> None:
    await runtime.jobs.enqueue(
        cancel_provider_payment, provider_payment_id, queue="high",
        job_id=f"cancel-payment:{provider_payment_id}", retry=PAYMENT_RETRY,
    )


async def enqueue_payment_expiry(
    runtime: Runtime, payment_id: uuid.UUID, at: datetime, *, again: bool = False
) -> EnqueuedJob:
    """A top-up's expiry at its ``expires_at``. ``again``: from a job that found it not yet
    due (its own id still exists, so the next look needs another)."""
    job_id = f"payment-expiry:{payment_id}" + (f":again:{uuid.uuid4().hex}" if again else "")
    return await runtime.jobs.enqueue(
        expire_payment_hold, str(payment_id), queue="high", job_id=job_id, at=at, retry=PAYMENT_RETRY,
    )


async def enqueue_event(runtime: Runtime, event_row_id: uuid.UUID, event_id: str) -> None:
    await runtime.jobs.enqueue(
        process_payment_event, str(event_row_id), queue="high",
        job_id=f"payment-event:{event_id}", retry=PAYMENT_RETRY,
    )
