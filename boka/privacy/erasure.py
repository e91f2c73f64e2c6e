"""Erasing a customer (GDPR art. 17) without breaking the books.

Anonymised: the customer's email (replaced by ``erased-<id>@erased.invalid``, which keeps the
tenant's unique email constraint and can never receive mail), names, phone, notification
preferences (no channels: nothing is sent to an erased record) and the link to their account;
the free text of their bookings (notes, cancellation reasons, the reason in the history); the
recipient and error text of the messages sent to them; and the customer's name in the payloads
of the events about their bookings (the outbox: webhooks replayed or delivered later carry no
name; live updates re-read the rows, which are anonymised).

Kept, with their amounts and times: bookings, their history, payments and refunds, the message
records (kind, channel, when, status) and the events themselves, so money totals and analytics
stay exactly as they were. Payment provider webhook rows (``payment_events``, not tenant-owned)
keep what the provider sent: the provider holds that data itself, under its own obligations.

A customer with future active bookings is refused (FUTURE_BOOKINGS) unless the caller asks to
cancel them (``cancel_future_bookings``): then they are cancelled as if by the caller, under the
service's policy (refunds are recorded and sent as for any cancellation), before the erasure.
Erasing an erased customer changes nothing and reports it (``already_erased``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.changes import BookingRef, cancel_booking
from boka.errors import UserErrorCode, UserInputError
from boka.events.catalog import announce_customer_change
from boka.events.types import BOOKING
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.models.bookings import (
    ACTIVE_STATUSES,
    ERASED_EMAIL_DOMAIN,
    Booking,
    BookingHistory,
    Customer,
)
from boka.models.events import Event
from boka.models.notifications import NotificationLog
from boka.payments.refunds import CancellationMoney, settle_cancellation

ERASED_DOMAIN = ERASED_EMAIL_DOMAIN  # RFC 2606: never a real mailbox
ERASED_RECIPIENT = "[erased]"
KEY = "erasure"
FREE_TEXT_DETAILS = ("reason", "notes")


def erased_at(customer: Customer) -> datetime | None:
    stamp = ((customer.preferences or {}).get(KEY) or {}).get("erased_at")
    return datetime.fromisoformat(stamp) if stamp else None


@dataclass
class Erasure:
    customer: Customer
    already_erased: bool = False
    cancelled_booking_ids: list[uuid.UUID] = field(default_factory=list)
    # what the cancellations owe the provider after commit (refunds to send, intents to cancel)
    cancellations: list[CancellationMoney] = field(default_factory=list)


async def erase_customer(
    db: AsyncSession, principal: Principal, customer: Customer, *, cancel_future_bookings: bool,
    device: DeviceInfo, now: datetime,
) -> Erasure:
    """Erase ``customer`` (found by ``privacy.access.customer_in_reach``, locked) in the
    caller's transaction: refused, with nothing written, while future bookings stand unless
    asked to cancel them; audited and announced (``customer.changed``, action ``erased``)."""
    if erased_at(customer) is not None:
        return Erasure(customer, already_erased=True)
    future = await future_active_bookings(db, customer.id, now)
    erasure = Erasure(customer)
    if future and not cancel_future_bookings:
        raise UserInputError(
            UserErrorCode.FUTURE_BOOKINGS,
            f"This customer has {len(future)} upcoming booking(s): cancel them first, or ask "
            "for them to be cancelled with the erasure (cancelFutureBookings).",
            "cancelFutureBookings",
        )
    addresses = [address for address in (customer.email, customer.phone) if address]
    await anonymise_customer(db, customer, now=now)  # first: the cancellations' events name nobody
    for booking_id in future:
        # the record is the caller's to erase (customer_in_reach): every booking of it is theirs
        # to cancel, including a guest's under the same email that the account never saw
        booking, terms = await cancel_booking(
            db, principal, BookingRef(booking_id, via_link=True), reason="", now=now
        )
        erasure.cancellations.append(await settle_cancellation(db, booking, terms, now=now))
        erasure.cancelled_booking_ids.append(booking_id)
    counts = await scrub_customer_rows(db, customer, addresses)
    await announce_customer_change(db, customer, "erased")
    log_event(db, AuthEvent.CUSTOMER_ERASED, origin=device, success=True,
              user_id=principal.actor_user_id, tenant_id=customer.tenant_id,
              details={"customer_id": str(customer.id),
                       "cancelled_bookings": len(erasure.cancelled_booking_ids), **counts})
    return erasure


async def future_active_bookings(db: AsyncSession, customer_id: uuid.UUID, now: datetime) -> list[uuid.UUID]:
    statement = sa.select(Booking.id).where(
        Booking.customer_id == customer_id, Booking.status.in_(ACTIVE_STATUSES), Booking.start_time > now,
    ).order_by(Booking.start_time)
    return list((await db.execute(statement)).scalars())


async def anonymise_customer(db: AsyncSession, customer: Customer, *, now: datetime) -> None:
    """The customer row itself: no name, address, number, account or channel left."""
    customer.email = f"erased-{customer.id.hex}@{ERASED_DOMAIN}"
    customer.first_name = ""
    customer.last_name = ""
    customer.phone = None
    customer.user_id = None
    customer.user_linked_at = None
    # A new dict, so the JSON column is seen as changed. No channels: nothing is ever sent.
    customer.preferences = {"notifications": {"channels": []}, KEY: {"erased_at": now.isoformat()}}
    await db.flush()


async def scrub_customer_rows(
    db: AsyncSession, customer: Customer, addresses: list[str]
) -> dict[str, int]:
    """Free text and addresses in the rows that stay: bookings, history, messages (about their
    bookings, or sent to their former ``addresses``), events."""
    theirs = sa.select(Booking.id).where(Booking.customer_id == customer.id)
    bookings = theirs.scalar_subquery()
    booking_ids = list((await db.execute(theirs)).scalars())
    await db.execute(
        sa.update(Booking).where(Booking.customer_id == customer.id)
        .values(notes="", cancellation_reason=None)
        .execution_options(synchronize_session="fetch")
    )
    history = 0
    for entry in (await db.execute(
        sa.select(BookingHistory).where(BookingHistory.booking_id.in_(bookings))
    )).scalars():
        if any(entry.details.get(key) for key in FREE_TEXT_DETAILS):
            entry.details = {k: v for k, v in entry.details.items() if k not in FREE_TEXT_DETAILS}
            history += 1
    messages = (await db.execute(
        sa.update(NotificationLog)
        .where(NotificationLog.tenant_id == customer.tenant_id,
               sa.or_(NotificationLog.booking_id.in_(bookings),
                      NotificationLog.recipient.in_(addresses or [ERASED_RECIPIENT])))
        .values(recipient=ERASED_RECIPIENT, error=None)
        .execution_options(synchronize_session=False)
    )).rowcount
    events = 0
    if booking_ids:
        for event in (await db.execute(
            sa.select(Event).where(Event.aggregate_type == BOOKING, Event.aggregate_id.in_(booking_ids))
        )).scalars():
            scrubbed = _without_names(event.payload)
            if scrubbed != event.payload:
                event.payload = scrubbed
                events += 1
    await db.flush()
    return {"bookings": len(booking_ids), "history_entries": history, "messages": messages, "events": events}


def _without_names(payload: dict[str, Any]) -> dict[str, Any]:
    customer = payload.get("customer")
    if isinstance(customer, dict) and customer.get("name"):
        return {**payload, "customer": {**customer, "name": None}}
    return payload
