"""The events of a waitlist: ``waitlist.joined`` and ``waitlist.left`` of an entry, and
``waitlist.offered``, ``waitlist.claimed``, ``waitlist.declined`` and ``waitlist.expired`` of
an offer. Their aggregate is the entry, so one customer's place in line numbers its events 1,
2, 3… Recorded in the transaction of the change, like every event (outbox)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.outbox import iso, record_event
from boka.events.types import global_id
from boka.models.bookings import Booking, Customer
from boka.models.waitlist import WaitlistEntry, WaitlistOffer

WAITLIST_ENTRY = "waitlist_entry"
WAITLIST_EVENT_PREFIX = "waitlist."
WAITLIST_JOINED = "waitlist.joined"
WAITLIST_LEFT = "waitlist.left"
WAITLIST_OFFERED = "waitlist.offered"
WAITLIST_CLAIMED = "waitlist.claimed"
WAITLIST_DECLINED = "waitlist.declined"
WAITLIST_EXPIRED = "waitlist.expired"
OFFER_EVENTS = (WAITLIST_OFFERED, WAITLIST_CLAIMED, WAITLIST_DECLINED, WAITLIST_EXPIRED)


def entry_payload(entry: WaitlistEntry, customer: Customer) -> dict[str, Any]:
    """Ids raw and as Relay global ids; no names or addresses (they reach every webhook)."""
    return {
        "entry": {"id": global_id("WaitlistEntry", entry.id)},
        "customer": {"id": global_id("Customer", entry.customer_id)},
        "service": {"id": global_id("Service", entry.service_id)},
        "entry_id": str(entry.id),
        "status": entry.status,
        "customer_id": str(entry.customer_id),
        # whose account may watch it live (waitlistOffer); None for a guest
        "customer_user_id": str(customer.user_id) if customer.user_id else None,
        "service_id": str(entry.service_id),
        "staff_id": str(entry.staff_id) if entry.staff_id else None,
        "class_session_id": str(entry.class_session_id) if entry.class_session_id else None,
        "earliest": iso(entry.earliest),
        "latest": iso(entry.latest),
        "seats": entry.seats,
    }


async def announce_entry(
    db: AsyncSession, entry: WaitlistEntry, customer: Customer, event_type: str
) -> None:
    await record_event(
        db, tenant_id=entry.tenant_id, aggregate_type=WAITLIST_ENTRY, aggregate_id=entry.id,
        type=event_type, payload=entry_payload(entry, customer),
    )


async def announce_offer(
    db: AsyncSession, offer: WaitlistOffer, entry: WaitlistEntry, customer: Customer,
    booking: Booking, event_type: str,
) -> None:
    await record_event(
        db, tenant_id=entry.tenant_id, aggregate_type=WAITLIST_ENTRY, aggregate_id=entry.id,
        type=event_type,
        payload={
            **entry_payload(entry, customer),
            "offer": {"id": global_id("WaitlistOffer", offer.id)},
            "booking": {"id": global_id("Booking", booking.id)},
            "offer_id": str(offer.id),
            "offer_status": offer.status,
            "booking_id": str(booking.id),
            "offered_staff_id": str(booking.staff_id),
            "start": booking.start_time.isoformat(),
            "end": booking.end_time.isoformat(),
            "expires_at": offer.expires_at.isoformat(),
        },
    )
