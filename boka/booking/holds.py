"""Slot holds: time reserved while a checkout is filled in, for any service, paid or not.

A hold is a pending booking (boka/booking/engine.py ``take_time``: the same candidates, the same
exclusion constraints and seat counts, so two racing holds for one slot cannot both win, and
availability counts it as it counts any booking, at no extra cost) with a ``SlotHold`` row
saying until when (``expires_at``) and who may book it. A checkout hold's booking has no
customer yet: it is no one's booking, shown in no booking list, until ``book_hold`` (from
``createBooking(holdId)``) names the customer, prices it with their discount code and turns it
into the booking the request would have made; its time cannot change. A booking waiting for its
online payment holds its time the same way (``hold_for_payment``): one expiry job, one sweep
and one notion of "held until" for both (boka/payments/holds.py expires them).

Whoever holds gets a secret hold id (only its SHA-256 is stored): it books or releases the
hold, for a guest as for anyone. A holder (a signed-in user, an API key, or a guest's IP
address) has at most ``max_open`` checkout holds open at once, counted under an advisory lock
on the holder so that racing requests cannot pass the cap together; the general API rate limit
applies as well.

Lock order, everywhere a hold changes: payment, then booking, then hold (the payment webhook
confirms a booking under its payment's lock, then resolves the hold).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.changes import release_time, system_transition
from boka.booking.engine import (
    BookingRequest,
    CustomerDetails,
    MAX_NOTES,
    found_customer_for,
    initial_status,
    load_service,
    service_of,
    take_time,
)
from boka.booking.history import record
from boka.booking.policies import refuse_customer_conflicts
from boka.booking.quotes import price_booking, redeem_code, release_code
from boka.db import keep_in_hand
from boka.errors import NotFound, UserErrorCode, UserInputError
from boka.events.availability import record_availability_change, services_affected_by_booking
from boka.events.holds import HOLD_CONVERTED, HOLD_CREATED, HOLD_EXPIRED, HOLD_RELEASED, announce_hold
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.identity.tokens import token_digest
from boka.models.bookings import Booking, BookingStatus
from boka.models.catalog import StaffMember, StaffService
from boka.models.holds import HoldPurpose, HoldStatus, SlotHold
from boka.models.sessions import ClassSession, ClassSessionStatus

HOLD_ID_PREFIX = "hold_"
EXPIRED_REASON = "The hold expired before it was booked."
RELEASED_REASON = "The hold was released."
UNPAID_REASON = "Not paid in time."


@dataclass(frozen=True)
class HoldRequest:
    service_id: uuid.UUID
    start: datetime
    staff_id: uuid.UUID | None = None
    seats: int = 1


@dataclass(frozen=True)
class NewHold:
    hold: SlotHold
    booking: Booking
    hold_id: str  # the secret: shown once, to whoever held


def holder_of(principal: Principal, client_ip: str) -> str:
    """Whose hold it is, for the cap: the signed-in user, the API key, or the guest's address."""
    if principal.user is not None:
        return f"user:{principal.user.id}"
    if principal.api_key is not None:
        return f"key:{principal.api_key.id}"
    return f"ip:{client_ip}"[:200]


def _locked(db: AsyncSession, statement: sa.Select) -> sa.Select:  # type: ignore[type-arg]
    statement = statement.execution_options(populate_existing=True)
    return statement.with_for_update() if db.bind.dialect.name == "postgresql" else statement


# --- holding ---------------------------------------------------------------------------------

async def hold_slot(
    db: AsyncSession, principal: Principal, request: HoldRequest, *, holder: str,
    minutes: int, max_open: int, now: datetime,
) -> NewHold:
    """Reserve the slot (or seats of the class session) for ``minutes``: anyone who may book
    may hold. SLOT_UNAVAILABLE with its reasons when it cannot be had; HOLD_LIMIT when the
    holder already has ``max_open`` holds open."""
    tenant = principal.require_tenant()
    if principal.api_key is not None:  # as for createBooking: a key only with bookings:write
        principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    service = await load_service(db, tenant, request.service_id)
    if not 1 <= request.seats <= service.capacity:
        raise UserInputError(UserErrorCode.INVALID_INPUT, f"Hold 1 to {service.capacity} seats.", "seats")
    await _refuse_over_cap(db, tenant.id, holder, max_open=max_open, now=now)
    booking_request = BookingRequest(
        service_id=service.id, start=request.start, staff_id=request.staff_id, seats=request.seats,
        hold_for_payment=True,  # pending: it holds the time until booked
    )
    taken = await take_time(db, principal, service, booking_request, None, now=now)
    booking = taken.booking
    token = HOLD_ID_PREFIX + secrets.token_urlsafe(24)
    hold = SlotHold(
        tenant_id=tenant.id, booking_id=booking.id, purpose=HoldPurpose.CHECKOUT.value,
        status=HoldStatus.OPEN.value, token_digest=token_digest(token), holder=holder,
        expires_at=now + timedelta(minutes=minutes), created_at=now,
    )
    db.add(hold)
    await db.flush()
    keep_in_hand(db, service, taken.staff)
    await _announce_time(db, booking, freed=False)
    await announce_hold(db, hold, booking, HOLD_CREATED)
    return NewHold(hold, booking, token)


async def _refuse_over_cap(
    db: AsyncSession, tenant_id: uuid.UUID, holder: str, *, max_open: int, now: datetime
) -> None:
    if db.bind.dialect.name == "postgresql":  # one holder's holds are counted one at a time
        await db.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"boka:holder:{tenant_id}:{holder}"},
        )
    open_count = (await db.execute(
        sa.select(sa.func.count()).select_from(SlotHold).where(
            SlotHold.tenant_id == tenant_id, SlotHold.holder == holder,
            SlotHold.status == HoldStatus.OPEN.value, SlotHold.booked_at.is_(None),
            SlotHold.expires_at > now,
        )
    )).scalar_one()
    if open_count >= max_open:
        raise UserInputError(
            UserErrorCode.HOLD_LIMIT,
            f"You already hold {open_count} times; book or release one first.",
        )


async def start_payment_hold(
    db: AsyncSession, booking: Booking, *, held: SlotHold | None, expires_at: datetime, now: datetime,
) -> SlotHold:
    """The booking waits for its online payment: its hold, held at least until ``expires_at``:
    ``held``, the checkout hold it was booked from (locked by ``book_hold``), now for the
    payment; or, for a booking made without one, a new one."""
    if held is None:
        held = SlotHold(
            tenant_id=booking.tenant_id, booking_id=booking.id, purpose=HoldPurpose.PAYMENT.value,
            status=HoldStatus.OPEN.value, expires_at=expires_at, created_at=now, booked_at=now,
        )
        db.add(held)
    else:
        held.purpose = HoldPurpose.PAYMENT.value
        held.expires_at = max(held.expires_at, expires_at)
    await db.flush()
    return held


# --- booking a hold --------------------------------------------------------------------------

@dataclass(frozen=True)
class HoldBooking:
    """What ``createBooking(holdId)`` adds to the held time."""

    customer: CustomerDetails | None = None
    notes: str = ""
    discount_code: str | None = None
    hold_for_payment: bool = False  # stays pending, held, until paid online
    # what the client said the time is, if it did: must be the held one
    service_id: uuid.UUID | None = None
    start: datetime | None = None
    staff_id: uuid.UUID | None = None
    seats: int | None = None


async def book_hold(
    db: AsyncSession, principal: Principal, hold_id: str, booking: HoldBooking, *, now: datetime
) -> tuple[Booking, SlotHold]:
    """The held time becomes the booking: the customer (by createBooking's rules), notes,
    price and discount code are settled now, the time stays the held one. HOLD_EXPIRED once
    the hold has run out; INVALID_TRANSITION when it was released or already booked."""
    tenant = principal.require_tenant()
    if principal.api_key is not None:
        principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    if len(booking.notes) > MAX_NOTES:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Notes are too long.", "notes")
    hold, held = await _locked_hold(db, principal, hold_id)
    _refuse_unless_bookable(hold, now)
    service = await service_of(db, held)
    _refuse_other_time(booking, held)
    await _refuse_cancelled_session(db, held)
    found = await found_customer_for(db, principal, booking.customer, now=now)
    customer = found.customer
    if not found.created:
        await refuse_customer_conflicts(
            db, tenant, customer_id=customer.id, start=held.start_time, end=held.end_time, now=now,
        )
    link = (await db.execute(sa.select(StaffService).where(
        StaffService.staff_member_id == held.staff_id, StaffService.service_id == held.service_id,
    ))).scalar_one_or_none()
    priced = await price_booking(
        db, tenant, service, link, start=held.start_time, discount_code=booking.discount_code,
        customer_id=customer.id, now=now, seats=held.seats,
    )
    held.customer_id = customer.id
    held.notes = booking.notes
    held.price_cents = priced.quote.total
    held.list_price_cents = priced.quote.base
    held.awaiting_email_proof = principal.user is None  # as for any guest booking (links.py)
    held.created_by_user_id = principal.user.id if principal.user else None
    held.status = initial_status(service, hold_for_payment=booking.hold_for_payment)
    held.created_at = held.updated_at = now
    await db.flush()
    if priced.discount_code is not None:
        await redeem_code(db, priced.discount_code, customer=customer, booking_id=held.id)
    staff = await db.get(StaffMember, held.staff_id)
    keep_in_hand(db, customer, service, staff)
    await record(db, held, principal, "created", None, details={
        "price_cents": held.price_cents, "discount_code": booking.discount_code,
        "hold_id": str(hold.id),
    })
    hold.booked_at = now
    if not booking.hold_for_payment:
        await _resolve(db, hold, held, HoldStatus.CONVERTED, now=now)
    await db.flush()
    return held, hold


def _refuse_unless_bookable(hold: SlotHold, now: datetime) -> None:
    if hold.status == HoldStatus.EXPIRED.value or (
        hold.status == HoldStatus.OPEN.value and hold.expires_at <= now
    ):
        raise UserInputError(
            UserErrorCode.HOLD_EXPIRED, "This hold has expired; hold the time again if it is free.",
            "holdId",
        )
    if hold.status == HoldStatus.RELEASED.value:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, "This hold was released.", "holdId")
    if hold.status != HoldStatus.OPEN.value or hold.booked_at is not None:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, "This hold is already booked.", "holdId")


async def _refuse_cancelled_session(db: AsyncSession, held: Booking) -> None:
    if held.class_session_id is None:
        return
    session = await db.get(ClassSession, held.class_session_id)
    if session is None or session.status != ClassSessionStatus.SCHEDULED.value:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION, "The class this hold is for was cancelled.", "holdId"
        )


def _refuse_other_time(booking: HoldBooking, held: Booking) -> None:
    """A hold books the time it holds: a service, start, staff member or seats given with it
    must be the held ones."""
    differs = (
        (booking.service_id is not None and booking.service_id != held.service_id, "serviceId"),
        (booking.start is not None and booking.start != held.start_time, "start"),
        (booking.staff_id is not None and booking.staff_id != held.staff_id, "staffId"),
        (booking.seats is not None and booking.seats != held.seats, "seats"),
    )
    for different, field in differs:
        if different:
            raise UserInputError(
                UserErrorCode.INVALID_INPUT,
                "A hold books the time it holds; leave this out or give the held one.", field,
            )


# --- releasing and expiring ------------------------------------------------------------------

async def release_hold(
    db: AsyncSession, principal: Principal, hold_id: str, *, now: datetime
) -> SlotHold:
    """Give the held time back before it expires (only a hold not yet booked)."""
    if principal.api_key is not None:  # as for holding: a key only with bookings:write
        principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    hold, held = await _locked_hold(db, principal, hold_id)
    if hold.status != HoldStatus.OPEN.value or hold.booked_at is not None:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION, f"This hold is already {_said(hold)}.", "holdId"
        )
    await _free(db, hold, held, reason=RELEASED_REASON, now=now)
    await _resolve(db, hold, held, HoldStatus.RELEASED, now=now)
    return hold


def _said(hold: SlotHold) -> str:
    return "booked" if hold.booked_at is not None or hold.status == HoldStatus.CONVERTED.value else hold.status


@dataclass(frozen=True)
class HoldExpiry:
    expired: bool
    booking_id: uuid.UUID | None = None  # its booking, when the hold expired now
    due_at: datetime | None = None  # still open but not yet due: when to look again


async def expire_hold(db: AsyncSession, hold_id: uuid.UUID, *, now: datetime) -> HoldExpiry:
    """Expire the hold if it is still open and its time has come, freeing its time (a hold
    nobody booked just ends; a booking that waited for its payment is cancelled, as "expired");
    otherwise nothing (booked, paid, released or expired meanwhile, or not yet due). A hold
    whose booking is no longer pending (confirmed, or cancelled by someone) only ends. The
    caller holds the booking's payment lock first, if it has a payment."""
    booking_id = (await db.execute(
        sa.select(SlotHold.booking_id).where(SlotHold.id == hold_id)
    )).scalar_one_or_none()
    if booking_id is None:
        return HoldExpiry(expired=False)
    held = (await db.execute(_locked(db, sa.select(Booking).where(Booking.id == booking_id)))).scalar_one()
    hold = (await db.execute(_locked(db, sa.select(SlotHold).where(SlotHold.id == hold_id)))).scalar_one()
    if hold.status != HoldStatus.OPEN.value:
        return HoldExpiry(expired=False)
    if held.status != BookingStatus.PENDING:
        ended = HoldStatus.RELEASED if held.status == BookingStatus.CANCELLED else HoldStatus.CONVERTED
        await _resolve(db, hold, held, ended, now=now)
        return HoldExpiry(expired=False)
    if hold.expires_at > now:  # early (another host's clock runs ahead of this one's)
        return HoldExpiry(expired=False, due_at=hold.expires_at)
    await _free(db, hold, held, reason=EXPIRED_REASON, now=now)
    await _resolve(db, hold, held, HoldStatus.EXPIRED, now=now)
    return HoldExpiry(expired=True, booking_id=held.id)


async def resolve_hold_of_booking(
    db: AsyncSession, booking: Booking, status: HoldStatus, *, now: datetime
) -> None:
    """The booking no longer needs its hold (paid, or cancelled by someone): the hold ends with
    ``status`` if it is still open. Nothing when the booking has no open hold."""
    hold = await hold_of_booking(db, booking.id, lock=True)
    if hold is not None and hold.status == HoldStatus.OPEN.value:
        await _resolve(db, hold, booking, status, now=now)


async def _free(db: AsyncSession, hold: SlotHold, held: Booking, *, reason: str, now: datetime) -> None:
    """Give the held time back. A booked hold (waiting for its payment) is a booking: it is
    cancelled through the lifecycle, as "expired". A hold nobody booked is no booking: its row
    is cancelled without one's history or messages, and the freed time announced."""
    if held.customer_id is not None:
        await system_transition(
            db, held, BookingStatus.CANCELLED, action="expired", now=now, reason=UNPAID_REASON
            if hold.purpose == HoldPurpose.PAYMENT.value else reason, details={"hold_id": str(hold.id)},
        )
        return
    held.status = BookingStatus.CANCELLED
    held.cancellation_reason = reason
    held.updated_at = now
    service = await service_of(db, held)
    await release_time(db, held, service.capacity)
    await release_code(db, held.id)
    await _announce_time(db, held, freed=True)


async def _resolve(
    db: AsyncSession, hold: SlotHold, held: Booking, status: HoldStatus, *, now: datetime
) -> None:
    hold.status = status.value
    hold.resolved_at = now
    await db.flush()
    await announce_hold(db, hold, held, {
        HoldStatus.CONVERTED: HOLD_CONVERTED, HoldStatus.RELEASED: HOLD_RELEASED,
        HoldStatus.EXPIRED: HOLD_EXPIRED,
    }[status])


async def _announce_time(db: AsyncSession, held: Booking, *, freed: bool) -> None:
    """availability.changed for a hold nobody booked (a booking's own changes announce
    theirs through its history)."""
    services = await services_affected_by_booking(db, [held.staff_id], held.service_id)
    await record_availability_change(
        db, tenant_id=held.tenant_id, aggregate_type="availability", aggregate_id=held.id,
        service_ids=services, staff_ids=[held.staff_id], start=held.block_start,
        end=held.block_end, freed=freed,
    )


# --- reading ---------------------------------------------------------------------------------

def _by_secret(principal: Principal, hold_id: str) -> sa.ColumnElement[bool]:
    hold_id = hold_id.strip()
    if not hold_id.startswith(HOLD_ID_PREFIX):
        return sa.false()
    return sa.and_(
        SlotHold.token_digest == token_digest(hold_id),
        SlotHold.tenant_id == principal.require_tenant().id,
    )


async def service_of_hold(db: AsyncSession, principal: Principal, hold_id: str) -> uuid.UUID | None:
    """The service the hold holds time of; None for an id nobody was given."""
    return (await db.execute(
        sa.select(Booking.service_id).join(SlotHold, SlotHold.booking_id == Booking.id)
        .where(_by_secret(principal, hold_id))
    )).scalar_one_or_none()


async def _locked_hold(db: AsyncSession, principal: Principal, hold_id: str) -> tuple[SlotHold, Booking]:
    """The hold the secret id names, in the request's tenant, with its booking, both locked
    (booking first); NOT_FOUND for an id nobody was given."""
    found = (await db.execute(
        sa.select(SlotHold.id, SlotHold.booking_id).where(_by_secret(principal, hold_id))
    )).one_or_none()
    if found is None:
        raise NotFound("No such hold.")
    held = (await db.execute(_locked(db, sa.select(Booking).where(Booking.id == found[1])))).scalar_one()
    hold = (await db.execute(_locked(db, sa.select(SlotHold).where(SlotHold.id == found[0])))).scalar_one()
    return hold, held


async def locked_booking(db: AsyncSession, booking_id: uuid.UUID) -> Booking:
    return (await db.execute(_locked(db, sa.select(Booking).where(Booking.id == booking_id)))).scalar_one()


async def hold_of_booking(db: AsyncSession, booking_id: uuid.UUID, *, lock: bool = False) -> SlotHold | None:
    statement = sa.select(SlotHold).where(SlotHold.booking_id == booking_id)
    return (await db.execute(_locked(db, statement) if lock else statement)).scalar_one_or_none()


async def open_holds(db: AsyncSession, *, limit: int = 10_000) -> list[tuple[uuid.UUID, datetime]]:
    """(hold id, expiry) of every open hold, each of which has an expiry job (re-armed from
    here when the job store lost them)."""
    rows = await db.execute(
        sa.select(SlotHold.id, SlotHold.expires_at)
        .where(SlotHold.status == HoldStatus.OPEN.value)
        .order_by(SlotHold.expires_at)
        .limit(limit)
    )
    return [(hold_id, expires_at) for hold_id, expires_at in rows.all()]


async def overdue_holds(db: AsyncSession, *, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Open holds past their expiry, oldest first (the sweep's net under the expiry jobs)."""
    rows = await db.execute(
        sa.select(SlotHold.id)
        .where(SlotHold.status == HoldStatus.OPEN.value, SlotHold.expires_at <= now)
        .order_by(SlotHold.expires_at)
        .limit(limit)
    )
    return list(rows.scalars())

