"""Messages to a customer about their booking: confirmed, rescheduled, cancelled, reminder,
payment receipt and refund.

Each function re-reads the booking when it runs and sends only what is still true, so a job
that was queued before the booking changed is harmless: a reminder for a time the booking no
longer has, or a confirmation for a booking cancelled since, sends nothing. Dedupe keys make
every message go out at most once per channel (see delivery.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import sqlalchemy as sa

from boka.booking.links import claim_url, manage_url, offer_token, proof_token
from boka.models.bookings import BookingStatus
from boka.models.waitlist import OfferStatus, WaitlistOffer
from boka.models.types import utcnow
from boka.notifications.delivery import Message, Outcome, deliver
from boka.notifications.email import CalendarPart, OutgoingEmail
from boka.notifications.facts import BookingFacts, load_booking_facts
from boka.notifications.ics import invite
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import customer_preferences, message_language, unsubscribe_url
from boka.notifications.templates import render
from boka.notifications.wording import local_date, local_time, money, wording_for
from boka.runtime import Runtime

# Kinds whose email carries the calendar invite.
WITH_INVITE = frozenset({
    MessageKind.BOOKING_CONFIRMED, MessageKind.BOOKING_RESCHEDULED, MessageKind.BOOKING_CANCELLED,
})


@dataclass(frozen=True)
class PaymentInfo:
    """A money movement to tell the customer about (from the payments ledger)."""

    reference: str  # the payment's or refund's id: one message per reference
    amount_cents: int
    currency: str


async def send_booking_message(
    runtime: Runtime, tenant_id: uuid.UUID, booking_id: uuid.UUID, kind: MessageKind,
    *, now: datetime | None = None,
) -> dict[Channel, Outcome]:
    """Confirmed / rescheduled / cancelled, if the booking is (still) in that state."""
    async with runtime.database.transaction(tenant_id) as db:
        facts = await load_booking_facts(db, booking_id)
        if facts is None or not _still_true(facts, kind):
            return {}
        suffix = {
            MessageKind.BOOKING_CONFIRMED: "",
            MessageKind.BOOKING_RESCHEDULED: f":{facts.sequence}",
            MessageKind.BOOKING_CANCELLED: "",
        }[kind]
        messages = await _compose(runtime, db, facts, kind, key=f"{kind.value}:{booking_id}{suffix}", now=now)
    return await _deliver_all(runtime, messages)


async def send_booking_reminder(
    runtime: Runtime, tenant_id: uuid.UUID, booking_id: uuid.UUID, *,
    lead_minutes: int, expected_start: datetime, now: datetime | None = None,
) -> dict[Channel, Outcome]:
    """The reminder scheduled ``lead_minutes`` before ``expected_start``: sent only if the booking
    is confirmed, still starts then, and has not started yet."""
    now = now or utcnow()
    async with runtime.database.transaction(tenant_id) as db:
        facts = await load_booking_facts(db, booking_id)
        if (
            facts is None
            or facts.booking.status != BookingStatus.CONFIRMED
            or facts.booking.start_time != expected_start
            or now >= facts.booking.start_time
        ):
            return {}
        key = f"reminder:{booking_id}:{lead_minutes}:{int(expected_start.timestamp())}"
        messages = await _compose(runtime, db, facts, MessageKind.BOOKING_REMINDER, key=key, now=now)
    return await _deliver_all(runtime, messages)


async def send_payment_message(
    runtime: Runtime, tenant_id: uuid.UUID, booking_id: uuid.UUID, kind: MessageKind,
    payment: PaymentInfo,
) -> dict[Channel, Outcome]:
    """A receipt (PAYMENT_RECEIPT) or refund notice (PAYMENT_REFUND), once per reference."""
    if kind not in (MessageKind.PAYMENT_RECEIPT, MessageKind.PAYMENT_REFUND):
        raise ValueError(f"{kind} is not a payment message")
    async with runtime.database.transaction(tenant_id) as db:
        facts = await load_booking_facts(db, booking_id)
        if facts is None:
            return {}
        messages = await _compose(
            runtime, db, facts, kind, key=f"{kind.value}:{payment.reference}",
            extra={"amount": money(payment.amount_cents, payment.currency,
                                   message_language(facts.customer, facts.tenant, runtime.settings))},
        )
    return await _deliver_all(runtime, messages)


async def send_waitlist_offer(
    runtime: Runtime, tenant_id: uuid.UUID, offer_id: uuid.UUID, *, now: datetime | None = None,
) -> dict[Channel, Outcome]:
    """The offer of held time to a customer on the waitlist, with its claim link; sent only
    while the offer is open, once per offer and channel."""
    now = now or utcnow()
    async with runtime.database.transaction(tenant_id) as db:
        offer = (await db.execute(
            sa.select(WaitlistOffer).where(WaitlistOffer.id == offer_id)
        )).scalar_one_or_none()
        if offer is None or offer.status != OfferStatus.OPEN.value or offer.expires_at <= now:
            return {}
        facts = await load_booking_facts(db, offer.booking_id)
        if facts is None:
            return {}
        settings = runtime.settings
        zone = facts.tenant.time_zone
        language = message_language(facts.customer, facts.tenant, settings)
        expires = offer.expires_at
        messages = await _compose(
            runtime, db, facts, MessageKind.WAITLIST_OFFER, key=f"waitlist_offer:{offer_id}", now=now,
            extra={
                "claim_url": claim_url(settings.public_url, offer_token(settings.secret_key, offer_id),
                                       facts.tenant.slug),
                "expires_at": f"{local_date(expires, zone, language)}, {local_time(expires, zone)}",
            },
        )
    return await _deliver_all(runtime, messages)


def _still_true(facts: BookingFacts, kind: MessageKind) -> bool:
    status = facts.booking.status
    if kind is MessageKind.BOOKING_CONFIRMED:
        return status == BookingStatus.CONFIRMED
    if kind is MessageKind.BOOKING_RESCHEDULED:
        return status in (BookingStatus.PENDING, BookingStatus.CONFIRMED)
    if kind is MessageKind.BOOKING_CANCELLED:
        return status == BookingStatus.CANCELLED
    raise ValueError(f"{kind} is not a booking state message")


async def _compose(
    runtime: Runtime, db: AsyncSession, facts: BookingFacts, kind: MessageKind, *, key: str,
    now: datetime | None = None, extra: dict[str, str] | None = None,
) -> list[Message]:
    settings = runtime.settings
    senders = runtime.senders
    customer, booking, tenant = facts.customer, facts.booking, facts.tenant
    language = message_language(customer, tenant, settings)
    zone = tenant.time_zone
    values = {
        "customer_name": facts.customer_name,
        "business_name": tenant.name,
        "service_name": facts.service.name,
        "staff_name": facts.staff.display_name,
        "date": local_date(booking.start_time, zone, language),
        "start_time": local_time(booking.start_time, zone),
        "end_time": local_time(booking.end_time, zone),
        "time_zone": zone,
        # the proof token: only this email receives it (links.py)
        "manage_url": manage_url(settings.public_url, proof_token(settings.secret_key, booking.id),
                                 tenant.slug),
        "unsubscribe_url": unsubscribe_url(settings, customer.id),
        "reason": booking.cancellation_reason or "",
        **(extra or {}),
    }
    messages = []
    for channel in customer_preferences(customer).channels:
        if not senders.configured(channel):
            continue
        if channel is Channel.SMS and not customer.phone:
            continue
        text = render(await wording_for(db, tenant.id, kind, channel, language), values)
        common = dict(
            tenant_id=tenant.id, dedupe_key=f"{key}:{channel.value}", kind=kind,
            channel=channel, booking_id=booking.id,
        )
        if channel is Channel.EMAIL:
            calendar = None
            if kind in WITH_INVITE:
                ics, method = invite(facts, public_url=settings.public_url,
                                     organizer=settings.email_from, now=now)
                calendar = CalendarPart(ics=ics, method=method)
            messages.append(Message(**common, recipient=customer.email, email=OutgoingEmail(
                to=customer.email, subject=text.subject, body=text.body, calendar=calendar,
                unsubscribe_url=values["unsubscribe_url"],
            )))
        else:
            assert customer.phone is not None
            messages.append(Message(**common, recipient=customer.phone, sms_body=text.body))
    return messages


async def _deliver_all(runtime: Runtime, messages: list[Message]) -> dict[Channel, Outcome]:
    """Every channel is tried even if one fails; the first failure is raised afterwards so the
    job retries (channels already sent are then skipped by their dedupe keys)."""
    senders = runtime.senders
    outcomes: dict[Channel, Outcome] = {}
    failure: Exception | None = None
    for message in messages:
        try:
            outcomes[message.channel] = await deliver(runtime.database, senders, message)
        except Exception as error:  # noqa: BLE001 - re-raised below, after the other channels
            failure = failure or error
    if failure is not None:
        raise failure
    return outcomes
