"""Offers to the waitlist: when time frees up, the first in line whose wish it fits gets it
held for them (a pending booking, the same hold a booking waiting for its payment has) for the
business's ``offer minutes``; claiming confirms the booking, declining or letting it expire
releases the time, whose ``availability.changed`` brings the next in line their offer.

Concurrency: offering queues on one advisory lock per tenant (one pass at a time walks the line,
in order), the held time is guaranteed by the bookings' exclusion constraints like any
booking, and an entry gets at most one offer ever (a unique key). Claims, declines, expiry and
leaving lock the entry first, then its offer and booking, so of racing claims exactly one wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import Slot, TimeRange
from boka.booking.changes import system_transition
from boka.booking.engine import BookingRequest, CustomerDetails, create_booking
from boka.booking.history import record
from boka.booking.lifecycle import check_transition
from boka.booking.links import offer_id_from_token
from boka.booking.slots import MAX_WINDOW, find_slots
from boka.booking.waitlist import offer_minutes, visible_entries
from boka.errors import BokaError, NotFound, UserErrorCode, UserInputError
from boka.events.waitlist import (
    WAITLIST_CLAIMED,
    WAITLIST_DECLINED,
    WAITLIST_EXPIRED,
    WAITLIST_OFFERED,
    announce_offer,
)
from boka.identity.principal import Principal
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingStatus, Customer
from boka.models.catalog import Service
from boka.models.sessions import ClassSession, ClassSessionStatus
from boka.models.tenancy import Tenant
from boka.models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus

# Entries looked at per pass: the rest wait for the next freed time (or the next pass).
LINE_PASS_LIMIT = 50
# Without an end, a freed range is searched this far ahead.
OPEN_ENDED_SEARCH = timedelta(days=14)
RELEASED_REASON = "Waitlist offer not taken."


@dataclass(frozen=True)
class OfferRef:
    """Which offer, and by what right: the principal's scope, or the emailed claim link."""

    offer_id: uuid.UUID
    via_link: bool = False


def offer_ref(offer_id: uuid.UUID | None, token: str | None, secret: str) -> OfferRef:
    if token:
        linked = offer_id_from_token(secret, token)
        if linked is None or (offer_id is not None and offer_id != linked):
            raise UserInputError(UserErrorCode.INVALID_TOKEN, "This offer link is not valid.", "token")
        return OfferRef(linked, via_link=True)
    if offer_id is None:
        raise NotFound("No such offer.")
    return OfferRef(offer_id)


# --- offering --------------------------------------------------------------------------------

class LineBusy(Exception):
    """Another pass is walking this tenant's line: try again shortly (``wait=False``)."""


async def offer_freed_time(
    db: AsyncSession, tenant_id: uuid.UUID, *, service_ids: Iterable[uuid.UUID],
    start: datetime | None, end: datetime | None, now: datetime, wait: bool = True,
) -> list[WaitlistOffer]:
    """Time of ``service_ids`` between ``start`` and ``end`` may have freed up: walk the line
    (first come first) and hold for each waiting entry the first time that fits it.

    One pass per tenant at a time (an advisory lock). With ``wait=False`` a pass that finds the
    line busy raises ``LineBusy`` at once instead of holding its connection while it waits."""
    services = sorted(set(service_ids))
    if not services or not await anyone_waiting(db, tenant_id, services, start, end):
        return []
    if db.bind.dialect.name == "postgresql":
        key = {"key": f"waitlist:{tenant_id}"}
        if wait:
            await db.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), key)
        elif not (await db.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), key
        )).scalar_one():
            raise LineBusy()
    statement = (
        _waiting(tenant_id, services, start, end)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        .limit(LINE_PASS_LIMIT)
        .execution_options(populate_existing=True)
    )
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    entries = list((await db.execute(statement)).scalars())
    tenant = await db.get(Tenant, tenant_id)
    if tenant is None:
        return []
    minutes = await offer_minutes(db, tenant_id)
    made = []
    free = _FreeTime(db, start, end, now)
    for entry in entries:
        offer = await _offer_to(db, tenant, entry, free, now=now, minutes=minutes)
        if offer is not None:
            made.append(offer)
    return made


def _waiting(
    tenant_id: uuid.UUID, services: list[uuid.UUID], start: datetime | None, end: datetime | None
) -> sa.Select[tuple[WaitlistEntry]]:
    statement = sa.select(WaitlistEntry).where(
        WaitlistEntry.tenant_id == tenant_id,
        WaitlistEntry.service_id.in_(services),
        WaitlistEntry.status == WaitlistStatus.WAITING.value,
    )
    if end is not None:
        statement = statement.where(sa.or_(WaitlistEntry.earliest.is_(None), WaitlistEntry.earliest < end))
    if start is not None:
        statement = statement.where(sa.or_(WaitlistEntry.latest.is_(None), WaitlistEntry.latest > start))
    return statement


async def anyone_waiting(
    db: AsyncSession, tenant_id: uuid.UUID, services: list[uuid.UUID],
    start: datetime | None, end: datetime | None,
) -> bool:
    """Most freed time has nobody waiting for it: find out before taking any lock."""
    found = await db.execute(_waiting(tenant_id, services, start, end).with_only_columns(
        WaitlistEntry.id).limit(1))
    return found.scalar_one_or_none() is not None


class _FreeTime:
    """The free slots of the freed range, per service, computed once per pass and again only
    after a hold took some of them: a pass over a line that nothing fits costs one slot
    search per service, not one per entry."""

    def __init__(self, db: AsyncSession, start: datetime | None, end: datetime | None, now: datetime) -> None:
        self.db, self.start, self.end, self.now = db, start, end, now
        self._slots: dict[uuid.UUID, list[Slot]] = {}

    async def of(self, service: Service) -> list[Slot]:
        if service.id not in self._slots:
            self._slots[service.id] = await self._search(service)
        return self._slots[service.id]

    def taken(self, service: Service) -> None:
        self._slots.pop(service.id, None)

    async def _search(self, service: Service) -> list[Slot]:
        # a slot whose block overlaps the freed range starts at most one block before it
        reach = timedelta(minutes=service.duration_minutes + service.buffer_before_minutes
                          + service.buffer_after_minutes) + timedelta(hours=1)
        low = max(self.start - reach if self.start else self.now, self.now)
        high = self.end if self.end is not None else low + OPEN_ENDED_SEARCH
        high = min(high, low + MAX_WINDOW)
        if high <= low:
            return []
        slots = await find_slots(self.db, service, window=TimeRange(low, high), now=self.now)
        return sorted(slots, key=lambda slot: slot.start)


async def _offer_to(
    db: AsyncSession, tenant: Tenant, entry: WaitlistEntry, free: _FreeTime, *, now: datetime,
    minutes: int,
) -> WaitlistOffer | None:
    service = await db.get(Service, entry.service_id)
    if service is None or not service.active:
        return None
    fitting = await _first_fitting_start(db, await free.of(service), entry, now=now)
    if fitting is None:
        return None
    slot_start, staff_id = fitting
    customer = await db.get(Customer, entry.customer_id)
    assert customer is not None
    request = BookingRequest(
        service_id=service.id, start=slot_start, staff_id=staff_id,
        customer=CustomerDetails(email=customer.email), seats=entry.seats,
        hold_for_payment=True,  # pending: it holds the time until claimed
    )
    try:
        booking = await create_booking(db, Principal(tenant=tenant), request, now=now)
    except (UserInputError, BokaError):  # taken meanwhile, or the customer is busy then
        return None
    free.taken(service)
    if customer.user_id is not None:  # the customer's own account sees its offer at once
        booking.awaiting_email_proof = False
    offer = WaitlistOffer(
        tenant_id=tenant.id, entry_id=entry.id, booking_id=booking.id,
        status=OfferStatus.OPEN.value, expires_at=now + timedelta(minutes=minutes), created_at=now,
    )
    db.add(offer)
    entry.status = WaitlistStatus.OFFERED.value
    entry.updated_at = now
    await db.flush()
    await announce_offer(db, offer, entry, customer, booking, WAITLIST_OFFERED)
    return offer


async def _first_fitting_start(
    db: AsyncSession, slots: list[Slot], entry: WaitlistEntry, *, now: datetime,
) -> tuple[datetime, uuid.UUID | None] | None:
    """The earliest free start (and the staff member to ask for) that fits the entry: its
    staff member, class session, range and seats; None if none does."""
    staff_id, session_start = entry.staff_id, None
    if entry.class_session_id is not None:
        session = await db.get(ClassSession, entry.class_session_id)
        if session is None or session.status != ClassSessionStatus.SCHEDULED.value or session.start_time <= now:
            return None
        staff_id, session_start = session.staff_id, session.start_time
    for slot in slots:
        if session_start is not None and slot.start != session_start:
            continue
        if staff_id is not None and staff_id not in slot.staff_ids:
            continue
        if entry.latest is not None and slot.end > entry.latest:
            continue
        if entry.earliest is not None and slot.start < entry.earliest:
            continue
        if slot.seats_left < entry.seats:  # the most any one instructor has: the hold checks
            continue
        return slot.start, staff_id
    return None


# --- claiming, declining, expiring -----------------------------------------------------------

@dataclass(frozen=True)
class LockedOffer:
    offer: WaitlistOffer
    entry: WaitlistEntry
    booking: Booking
    customer: Customer


async def _lock(db: AsyncSession, offer_id: uuid.UUID, access: sa.ColumnElement[bool]) -> LockedOffer:
    """The offer with its entry and booking, locked in that order (entry first, as leaving
    does), re-read after the locks."""
    entry_id = (await db.execute(
        sa.select(WaitlistOffer.entry_id)
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .where(WaitlistOffer.id == offer_id, access)
    )).scalar_one_or_none()
    if entry_id is None:
        raise NotFound("No such offer.")
    postgres = db.bind.dialect.name == "postgresql"

    async def locked(statement: sa.Select) -> object:  # type: ignore[type-arg]
        statement = statement.execution_options(populate_existing=True)
        return (await db.execute(statement.with_for_update() if postgres else statement)).scalar_one()

    entry = await locked(sa.select(WaitlistEntry).where(WaitlistEntry.id == entry_id))
    offer = await locked(sa.select(WaitlistOffer).where(WaitlistOffer.id == offer_id))
    booking = await locked(sa.select(Booking).where(Booking.id == offer.booking_id))  # type: ignore[attr-defined]
    customer = await db.get(Customer, entry.customer_id)  # type: ignore[attr-defined]
    return LockedOffer(offer, entry, booking, customer)  # type: ignore[arg-type]


def _access(principal: Principal, ref: OfferRef) -> sa.ColumnElement[bool]:
    if ref.via_link:
        return WaitlistOffer.tenant_id == principal.require_tenant().id
    if principal.user is None and principal.api_key is None:
        return sa.false()
    return visible_entries(principal)


def _refuse_unless_open(offer: WaitlistOffer, now: datetime) -> None:
    if offer.status != OfferStatus.OPEN.value:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, f"This offer was already {offer.status}.")
    if offer.expires_at <= now:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, "This offer has expired.")


async def claim_offer(
    db: AsyncSession, principal: Principal, ref: OfferRef, *, now: datetime
) -> LockedOffer:
    """Take the held time: the booking is confirmed (or, for a service that needs the
    business's confirmation, stays pending as any booking would), the entry is booked."""
    held = await _lock(db, ref.offer_id, _access(principal, ref))
    _refuse_unless_open(held.offer, now)
    booking = held.booking
    if BookingStatus(booking.status) not in ACTIVE_STATUSES:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, "This offer's time is no longer held.")
    if ref.via_link:
        booking.awaiting_email_proof = False  # only the customer's address got the link
    service = await db.get(Service, booking.service_id)
    assert service is not None
    details = {"waitlist_offer_id": str(held.offer.id)}
    if booking.status == BookingStatus.PENDING and not service.requires_confirmation:
        check_transition(BookingStatus.PENDING, BookingStatus.CONFIRMED)
        booking.status = BookingStatus.CONFIRMED
        booking.updated_at = now
        await record(db, booking, principal, "confirmed", BookingStatus.PENDING, details=details)
    await _resolve(db, held, OfferStatus.CLAIMED, WaitlistStatus.BOOKED, WAITLIST_CLAIMED, now=now)
    return held


async def decline_offer(
    db: AsyncSession, principal: Principal, ref: OfferRef, *, now: datetime
) -> LockedOffer:
    """Let the held time go to the next in line; the entry leaves the line."""
    held = await _lock(db, ref.offer_id, _access(principal, ref))
    if held.offer.status != OfferStatus.OPEN.value:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, f"This offer was already {held.offer.status}.")
    await _release(db, held, now=now)
    await _resolve(db, held, OfferStatus.DECLINED, WaitlistStatus.PASSED, WAITLIST_DECLINED, now=now)
    return held


async def decline_open_offer_of(
    db: AsyncSession, principal: Principal, entry: WaitlistEntry, *, now: datetime
) -> None:
    """An entry with an open offer leaves the line: the offer is declined first."""
    offer_id = (await db.execute(sa.select(WaitlistOffer.id).where(
        WaitlistOffer.entry_id == entry.id, WaitlistOffer.status == OfferStatus.OPEN.value,
    ))).scalar_one_or_none()
    if offer_id is not None:
        await decline_offer(db, principal, OfferRef(offer_id), now=now)


@dataclass(frozen=True)
class OfferExpiry:
    expired: bool
    due_at: datetime | None = None  # still open but not yet due: when to look again


async def expire_offer(db: AsyncSession, offer_id: uuid.UUID, *, now: datetime) -> OfferExpiry:
    """Expire the offer if it is still open and its time has come; otherwise do nothing
    (claimed or declined meanwhile, already expired, or not yet due)."""
    try:
        held = await _lock(db, offer_id, sa.true())
    except NotFound:
        return OfferExpiry(expired=False)
    if held.offer.status != OfferStatus.OPEN.value:
        return OfferExpiry(expired=False)
    if held.offer.expires_at > now:
        return OfferExpiry(expired=False, due_at=held.offer.expires_at)
    await _release(db, held, now=now)
    await _resolve(db, held, OfferStatus.EXPIRED, WaitlistStatus.PASSED, WAITLIST_EXPIRED, now=now)
    return OfferExpiry(expired=True)


async def _release(db: AsyncSession, held: LockedOffer, *, now: datetime) -> None:
    """Cancel the held booking (action ``released``: no cancellation message, since the
    customer never had it), which frees its time and announces that."""
    if BookingStatus(held.booking.status) == BookingStatus.PENDING:
        await system_transition(
            db, held.booking, BookingStatus.CANCELLED, action="released", now=now,
            reason=RELEASED_REASON, details={"waitlist_offer_id": str(held.offer.id)},
        )


async def _resolve(
    db: AsyncSession, held: LockedOffer, status: OfferStatus, entry_status: WaitlistStatus,
    event_type: str, *, now: datetime,
) -> None:
    held.offer.status = status.value
    held.offer.resolved_at = now
    held.entry.status = entry_status.value
    held.entry.updated_at = now
    await db.flush()
    await announce_offer(db, held.offer, held.entry, held.customer, held.booking, event_type)


# --- reading ---------------------------------------------------------------------------------

async def load_offer(db: AsyncSession, principal: Principal, ref: OfferRef) -> WaitlistOffer:
    offer = (await db.execute(
        sa.select(WaitlistOffer)
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .where(WaitlistOffer.id == ref.offer_id, _access(principal, ref))
    )).scalar_one_or_none()
    if offer is None:
        raise NotFound("No such offer.")
    return offer
