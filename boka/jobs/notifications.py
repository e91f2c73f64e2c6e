"""Notification jobs, and the functions that enqueue them when something happens.

Triggers (call them from the event relay's consumers, or directly):
- ``notify_booking_changed(runtime, tenant_id, booking_id, kind)``: kind is confirmed,
  rescheduled or cancelled. Enqueues the customer message; for confirmed and rescheduled
  bookings also schedules the reminders for the booking's (new) start.
- ``notify_payment(runtime, tenant_id, booking_id, kind, reference, amount_cents, currency)``:
  a receipt or refund notice, once per ledger reference.
- ``enqueue_due_agendas(runtime)``: the staff agendas due this hour; the hourly recurring job
  ``boka.jobs.scheduled.sweep_agendas`` calls it.

Job arguments are plain strings and ints (RQ pickles them; ids outlive code changes better as
text). Each job re-reads what it needs, so a stale or duplicated job is harmless, and the
notification log makes every message go out at most once.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime

from boka.jobs.context import job_runtime
from boka.jobs.parking import park_if_suspended, tenant_suspended
from boka.jobs.retry import RetryPolicy
from boka.notifications.agenda import due_agendas, send_staff_agenda
from boka.notifications.booking_messages import (
    PaymentInfo,
    send_booking_message,
    send_booking_reminder,
    send_payment_message,
)
from boka.notifications.kinds import MessageKind
from boka.notifications.reminders import PlannedReminder, plan_reminders
from boka.notifications.team_alerts import TeamAlert, role_names, roles_from, send_team_alert
from boka.runtime import Runtime

QUEUE = "default"
# Messages go stale: after about a day of retrying, a reminder or confirmation is no use.
MESSAGE_RETRY = RetryPolicy.exponential(8, base=30, factor=2, cap=3 * 3600)
PARKED = "parked: tenant suspended"  # see boka/jobs/parking.py
STATE_KINDS = (
    MessageKind.BOOKING_CONFIRMED, MessageKind.BOOKING_RESCHEDULED, MessageKind.BOOKING_CANCELLED,
)


# --- jobs -----------------------------------------------------------------------------------

async def send_booking_message_job(tenant_id: str, booking_id: str, kind: str) -> str:
    async with job_runtime() as runtime:
        if await park_if_suspended(runtime, uuid.UUID(tenant_id), send_booking_message_job,
                                   tenant_id, booking_id, kind, queue=QUEUE):
            return PARKED
        outcome = await send_booking_message(
            runtime, uuid.UUID(tenant_id), uuid.UUID(booking_id), MessageKind(kind)
        )
    return _describe(outcome)


async def send_booking_reminder_job(
    tenant_id: str, booking_id: str, lead_minutes: int, expected_start: str
) -> str:
    async with job_runtime() as runtime:
        if await park_if_suspended(runtime, uuid.UUID(tenant_id), send_booking_reminder_job,
                                   tenant_id, booking_id, lead_minutes, expected_start, queue=QUEUE):
            return PARKED
        outcome = await send_booking_reminder(
            runtime, uuid.UUID(tenant_id), uuid.UUID(booking_id),
            lead_minutes=lead_minutes, expected_start=datetime.fromisoformat(expected_start),
        )
    return _describe(outcome)


async def send_payment_message_job(
    tenant_id: str, booking_id: str, kind: str, reference: str, amount_cents: int, currency: str
) -> str:
    async with job_runtime() as runtime:
        if await park_if_suspended(runtime, uuid.UUID(tenant_id), send_payment_message_job, tenant_id,
                                   booking_id, kind, reference, amount_cents, currency, queue=QUEUE):
            return PARKED
        outcome = await send_payment_message(
            runtime, uuid.UUID(tenant_id), uuid.UUID(booking_id), MessageKind(kind),
            PaymentInfo(reference=reference, amount_cents=amount_cents, currency=currency),
        )
    return _describe(outcome)


async def send_staff_agenda_job(tenant_id: str, staff_member_id: str, day: str) -> str:
    async with job_runtime() as runtime:
        if await tenant_suspended(runtime, uuid.UUID(tenant_id)):
            return "skipped: tenant suspended"  # a day's agenda is no use later: not parked
        outcome = await send_staff_agenda(
            runtime, uuid.UUID(tenant_id), uuid.UUID(staff_member_id), date.fromisoformat(day)
        )
    return outcome.value if outcome else "nothing to send"


async def send_team_alert_job(tenant_id: str, key: str, title: str, details: str, roles: str) -> str:
    async with job_runtime() as runtime:
        if await park_if_suspended(runtime, uuid.UUID(tenant_id), send_team_alert_job,
                                   tenant_id, key, title, details, roles, queue=QUEUE):
            return PARKED
        outcomes = await send_team_alert(
            runtime, uuid.UUID(tenant_id), TeamAlert(key=key, title=title, details=details, roles=roles_from(roles))
        )
    return ", ".join(f"{email}: {outcome.value}" for email, outcome in outcomes.items()) or "nothing to send"


async def alert_team(runtime: Runtime, tenant_id: uuid.UUID, alert: TeamAlert) -> None:
    """Enqueue ``alert`` for the tenant's team, once per alert key."""
    await runtime.jobs.enqueue(
        send_team_alert_job, str(tenant_id), alert.key, alert.title, alert.details,
        role_names(alert.roles), queue=QUEUE, retry=MESSAGE_RETRY, job_id=job_id("team-alert", alert.key),
    )


async def enqueue_due_agendas(runtime: Runtime) -> int:
    """Enqueue the staff agendas due now (once per staff member and day, by job id)."""
    due = await due_agendas(runtime)
    for agenda in due:
        await runtime.jobs.enqueue(
            send_staff_agenda_job, str(agenda.tenant_id), str(agenda.staff_member_id),
            agenda.day.isoformat(), queue="low", retry=MESSAGE_RETRY,
            job_id=f"agenda-{agenda.staff_member_id}-{agenda.day.isoformat()}",
        )
    return len(due)


def job_id(prefix: str, reference: str) -> str:
    """An RQ job id (letters, digits, '_', '-') naming one external reference."""
    return f"{prefix}-{hashlib.sha256(reference.encode()).hexdigest()[:32]}"


def _describe(outcome: dict) -> str:  # type: ignore[type-arg]
    return ", ".join(f"{channel.value}: {result.value}" for channel, result in outcome.items()) or "nothing to send"


# --- triggers ---------------------------------------------------------------------------------

async def notify_booking_changed(
    runtime: Runtime, tenant_id: uuid.UUID, booking_id: uuid.UUID, kind: MessageKind,
    *, event_id: str | None = None,
) -> None:
    """A booking was confirmed, rescheduled or cancelled: tell the customer, and (re)plan the
    reminders. ``event_id`` (the outbox event's id) makes a redelivered event enqueue nothing."""
    if kind not in STATE_KINDS:
        raise ValueError(f"{kind} is not a booking change")
    await runtime.jobs.enqueue(
        send_booking_message_job, str(tenant_id), str(booking_id), kind.value,
        queue=QUEUE, retry=MESSAGE_RETRY,
        job_id=job_id("notify", event_id) if event_id else None,
    )
    if kind is not MessageKind.BOOKING_CANCELLED:
        await schedule_reminders(runtime, tenant_id, booking_id)


async def schedule_reminders(runtime: Runtime, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> int:
    """Schedule the booking's future reminders; idempotent (job ids name booking, lead, start)."""
    planned = await plan_reminders(runtime, tenant_id, booking_id)
    for reminder in planned:
        await enqueue_reminder(runtime, tenant_id, reminder)
    return len(planned)


async def enqueue_reminder(runtime: Runtime, tenant_id: uuid.UUID, reminder: PlannedReminder) -> bool:
    """Schedule one planned reminder; False if it was already scheduled (same job id)."""
    enqueued = await runtime.jobs.enqueue(
        send_booking_reminder_job, str(tenant_id), str(reminder.booking_id), reminder.lead_minutes,
        reminder.start.isoformat(), queue=QUEUE, retry=MESSAGE_RETRY,
        job_id=reminder.job_id, at=reminder.send_at,
    )
    return not enqueued.duplicate


async def notify_payment(
    runtime: Runtime, tenant_id: uuid.UUID, booking_id: uuid.UUID, kind: MessageKind,
    *, reference: str, amount_cents: int, currency: str,
) -> None:
    """A payment succeeded (PAYMENT_RECEIPT) or a refund went out (PAYMENT_REFUND)."""
    if kind not in (MessageKind.PAYMENT_RECEIPT, MessageKind.PAYMENT_REFUND):
        raise ValueError(f"{kind} is not a payment message")
    await runtime.jobs.enqueue(
        send_payment_message_job, str(tenant_id), str(booking_id), kind.value, reference,
        amount_cents, currency, queue=QUEUE, retry=MESSAGE_RETRY, job_id=job_id(kind.value, reference),
    )


