"""Changing a booking after it exists: reschedule, cancel, confirm, complete, no-show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import is_staff_side_principal, require_staff_side, visible_bookings
from boka.booking.availability import TimeRange
from boka.booking.engine import (
    claim_time,
    minutes_between,
    release_seats,
    service_of,
    slot_key_for,
    refuse_slot,
    slot_unavailable,
)
from boka.booking.history import record
from boka.booking.lifecycle import CancellationTerms, cancellation_terms, check_transition
from boka.booking.links import linked_booking
from boka.booking.limits import refuse_over_limit
from boka.booking.policies import RescheduleTerms, refuse_customer_conflicts, reschedule_terms
from boka.booking.quotes import release_code, requote_booking
from boka.booking.refusals import RefusalReason
from boka.booking.session_seats import open_sessions, take_session_seats
from boka.booking.slots import find_slots
from boka.errors import Forbidden, NotFound, UserErrorCode, UserInputError
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingResource, BookingStatus
from boka.models.catalog import Service, StaffMember, StaffService

MAX_REASON = 500


@dataclass(frozen=True)
class BookingRef:
    """Which booking, and by what right: the principal's scope, or a guest's signed link."""

    booking_id: uuid.UUID
    via_link: bool = False
    proves_email: bool = False  # the link emailed to the booking's address (links.py)


def booking_ref(booking_id: uuid.UUID | None, link_token: str | None, secret: str) -> BookingRef:
    if link_token:
        linked = linked_booking(secret, link_token)
        if linked is None or (booking_id is not None and booking_id != linked.booking_id):
            raise NotFound("This booking link is not valid.")
        return BookingRef(linked.booking_id, via_link=True, proves_email=linked.proves_email)
    if booking_id is None:
        raise NotFound("No such booking.")
    return BookingRef(booking_id)


async def load_booking(
    db: AsyncSession, principal: Principal, ref: BookingRef, *, for_update: bool = False
) -> Booking:
    """The booking if the principal may see it (or the link is for it); NOT_FOUND otherwise,
    never FORBIDDEN, which would confirm that the id exists. Changing one (``for_update``)
    also takes the right to make bookings: an API key that may only read cannot cancel."""
    if for_update and not ref.via_link:
        principal.authorize(Action.BOOKING_CREATE, Scope.OWN)
    access = (
        Booking.tenant_id == principal.require_tenant().id
        if ref.via_link
        else visible_bookings(principal)
    )
    statement = sa.select(Booking).where(Booking.id == ref.booking_id, access)
    if for_update and db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    booking = (await db.execute(statement)).scalar_one_or_none()
    if booking is None:
        raise NotFound("No such booking.")
    if for_update and ref.proves_email:
        booking.awaiting_email_proof = False
    return booking


async def prove_booking_email(db: AsyncSession, principal: Principal, ref: BookingRef) -> Booking:
    """A guest opened the link emailed to the booking's address: the address is theirs, so
    the booking now shows in the list of the account of that email (if there is one)."""
    booking = await load_booking(db, principal, ref)
    if ref.proves_email and booking.awaiting_email_proof:
        booking.awaiting_email_proof = False
        await db.flush()
    return booking


@dataclass(frozen=True)
class Rescheduled:
    booking: Booking
    previous_price_cents: int
    terms: RescheduleTerms


async def reschedule_booking(
    db: AsyncSession,
    principal: Principal,
    ref: BookingRef,
    *,
    start: datetime,
    staff_id: uuid.UUID | None,
    now: datetime,
    override_policy: bool = False,
) -> Rescheduled:
    """Move an active booking to another start (and optionally another staff member).

    Inside the cancellation window the service's policy applies (``policies.reschedule_terms``:
    refused, or allowed with the late fee), unless staff override it. The price is quoted
    again at the new time (the booking's discount code still applies) plus any fee; the
    caller settles money already paid against it (``boka.payments.reschedules``)."""
    booking = await load_booking(db, principal, ref, for_update=True)
    if booking.status not in ACTIVE_STATUSES:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION, f"A {booking.status.value} booking cannot move."
        )
    _refuse_after_start_unless_staff(principal, ref, booking, now, "moved")
    if override_policy and (ref.via_link or not is_staff_side_principal(principal)):
        raise Forbidden("Only staff, managers and owners can override the booking policy.")
    service = await service_of(db, booking)
    terms = reschedule_terms(service, booking, now=now, override=override_policy)
    if service.capacity > 1:
        previous_price = booking.price_cents
        moved = await _move_to_session(
            db, principal, booking, service, start=start, staff_id=staff_id, now=now, terms=terms
        )
        return Rescheduled(booking=moved, previous_price_cents=previous_price, terms=terms)
    target_staff = staff_id or booking.staff_id
    slots = await find_slots(
        db, service, window=TimeRange(start, start + timedelta(seconds=1)), now=now,
        staff_id=target_staff, ignore_booking_id=booking.id,
    )
    if not any(slot.start == start and target_staff in slot.staff_ids for slot in slots):
        raise await refuse_slot(
            db, service, start=start, now=now, staff_id=target_staff, ignore_booking_id=booking.id
        )
    link = await staff_link(db, target_staff, service.id)
    previous = {
        "start": booking.start_time.isoformat(),
        "end": booking.end_time.isoformat(),
        "staff_id": str(booking.staff_id),
        "price_cents": booking.price_cents,
    }
    duration = timedelta(minutes=link.duration_minutes or service.duration_minutes)
    tenant = principal.require_tenant()
    await refuse_customer_conflicts(
        db, tenant, customer_id=booking.customer_id, start=start, end=start + duration,
        now=now, ignore_booking_id=booking.id,
    )
    member = await db.get(StaffMember, target_staff)  # find_slots read it: no statement
    assert member is not None
    if await refuse_over_limit(
        db, service, member, start=start, duration_minutes=minutes_between(start, start + duration),
        ignore_booking_id=booking.id,
    ):  # availability offered the time a moment ago: the limit is the reason
        raise slot_unavailable((RefusalReason.LIMIT_REACHED,))
    requoted = await requote_booking(db, tenant, service, link, booking, start=start)
    kept_fees = booking.kept_fee_cents + terms.fee_cents
    block = (
        start - timedelta(minutes=service.buffer_before_minutes),
        start + duration + timedelta(minutes=service.buffer_after_minutes),
    )

    async def move() -> None:
        booking.staff_id = target_staff
        booking.start_time = start
        booking.end_time = start + duration
        booking.block_start, booking.block_end = block
        booking.slot_key = slot_key_for(booking.id)
        booking.price_cents = requoted.quote.total + kept_fees
        booking.kept_fee_cents = kept_fees
        booking.updated_at = now
        await db.flush()
        await db.execute(
            sa.update(BookingResource)
            .where(BookingResource.booking_id == booking.id)
            .values(block_start=booking.block_start, block_end=booking.block_end, slot_key=booking.slot_key)
        )

    if not await claim_time(db, move, staff_id=target_staff, block=block):
        raise await refuse_slot(
            db, service, start=start, now=now, staff_id=target_staff, ignore_booking_id=booking.id
        )
    await record(db, booking, principal, "rescheduled", booking.status, details={
        "from": previous,
        "to": {"start": start.isoformat(), "staff_id": str(target_staff), "price_cents": booking.price_cents},
        **terms.history(),
    })
    return Rescheduled(booking=booking, previous_price_cents=previous["price_cents"], terms=terms)


async def staff_link(db: AsyncSession, staff_id: uuid.UUID, service_id: uuid.UUID) -> StaffService:
    """The staff member's link to the service (their own price and duration, if any)."""
    return (
        await db.execute(
            sa.select(StaffService).where(
                StaffService.staff_member_id == staff_id, StaffService.service_id == service_id
            )
        )
    ).scalar_one()


async def _move_to_session(
    db: AsyncSession, principal: Principal, booking: Booking, service: Service, *,
    start: datetime, staff_id: uuid.UUID | None, now: datetime, terms: RescheduleTerms,
) -> Booking:
    """Move a class booking into another session of its service (the one at ``start``, of
    ``staff_id`` if named): its seats go back to the old session and come out of the new one,
    whose capacity check refuses them if it is full. Its price is quoted again at the new
    session's time and instructor, as an appointment's is, plus any late fee (``terms``)."""
    sessions = await open_sessions(
        db, service, start=start, staff_id=staff_id, now=now,
        seats=booking.seats, except_session=booking.class_session_id,
    )
    previous = {
        "start": booking.start_time.isoformat(), "end": booking.end_time.isoformat(),
        "staff_id": str(booking.staff_id),
        "class_session_id": str(booking.class_session_id) if booking.class_session_id else None,
        "price_cents": booking.price_cents,
    }
    tenant = principal.require_tenant()
    kept_fees = booking.kept_fee_cents + terms.fee_cents
    over_limit = False
    instructors = [await db.get(StaffMember, session.staff_id) for session in sessions]
    for session, instructor in zip(sessions, instructors, strict=True):
        assert instructor is not None
        if await refuse_over_limit(
            db, service, instructor, start=session.start_time,
            duration_minutes=minutes_between(session.start_time, session.end_time),
            ignore_booking_id=booking.id, lock_with=[each for each in instructors if each],
        ):
            over_limit = True
            continue
        link = await staff_link(db, session.staff_id, service.id)
        requoted = await requote_booking(db, tenant, service, link, booking, start=session.start_time)

        async def move(session=session, price=requoted.quote.total + kept_fees) -> None:  # type: ignore[no-untyped-def]
            await release_seats(db, booking)  # to the session it leaves
            booking.staff_id, booking.class_session_id = session.staff_id, session.id
            booking.start_time, booking.end_time = session.start_time, session.end_time
            booking.block_start, booking.block_end = session.block_start, session.block_end
            booking.slot_key = session.slot_key
            booking.price_cents, booking.kept_fee_cents = price, kept_fees
            booking.updated_at = now
            await db.flush()
            await take_session_seats(db, booking, session.id)

        block = (session.block_start, session.block_end)
        if await claim_time(db, move, staff_id=session.staff_id, block=block, own_session=session.id):
            await record(db, booking, principal, "rescheduled", booking.status, details={
                "from": previous,
                "to": {"start": session.start_time.isoformat(), "staff_id": str(session.staff_id),
                       "class_session_id": str(session.id), "price_cents": booking.price_cents},
                **terms.history(),
            })
            return booking
        await db.refresh(booking)  # the savepoint rolled back: as it was
    raise await refuse_slot(
        db, service, start=start, now=now, staff_id=staff_id, seats=booking.seats, over_limit=over_limit
    )


async def cancel_booking(
    db: AsyncSession, principal: Principal, ref: BookingRef, *, reason: str, now: datetime,
    terms: CancellationTerms | None = None,
) -> tuple[Booking, CancellationTerms]:
    """Cancel, free the time and give the discount code's use back. The service's policy
    decides the refund share of what was paid (``CancellationTerms``; the caller settles it),
    unless the business cancels and gives ``terms`` itself (a cancelled class session refunds
    in full)."""
    if len(reason) > MAX_REASON:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "The reason is too long.", "reason")
    booking = await load_booking(db, principal, ref, for_update=True)
    _refuse_after_start_unless_staff(principal, ref, booking, now, "cancelled")
    service = await service_of(db, booking)
    previous = booking.status
    check_transition(previous, BookingStatus.CANCELLED)
    if terms is None:
        terms = cancellation_terms(
            service, start=booking.start_time, now=now, kept_fee_cents=booking.kept_fee_cents,
        )
    booking.status = BookingStatus.CANCELLED
    booking.cancellation_reason = reason.strip() or None
    booking.updated_at = now
    await release_time(db, booking, service.capacity)
    released_code = await release_code(db, booking.id)
    await record(db, booking, principal, "cancelled", previous, details={
        "reason": reason, "refund_percent": terms.refund_percent,
        "kept_fee_cents": terms.kept_fee_cents, "released_discount_code": released_code,
    })
    return booking, terms


async def change_status(
    db: AsyncSession, principal: Principal, booking_id: uuid.UUID, target: BookingStatus, *, now: datetime
) -> Booking:
    """Confirm, complete or mark a no-show: staff-side actions on the booking's lifecycle."""
    require_staff_side(principal)
    booking = await load_booking(db, principal, BookingRef(booking_id), for_update=True)
    previous = booking.status
    check_transition(previous, target)
    if target in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW) and now < booking.start_time:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION, "This booking has not started yet."
        )
    booking.status = target
    booking.updated_at = now
    if target not in ACTIVE_STATUSES:
        service = await service_of(db, booking)
        await release_time(db, booking, service.capacity)
    await record(db, booking, principal, target.value, previous)
    return booking


SYSTEM = Principal()  # the actor of changes nobody made by hand (payments, expiry)


async def system_transition(
    db: AsyncSession, booking: Booking, target: BookingStatus, *, action: str, now: datetime,
    reason: str | None = None, details: dict | None = None,
) -> None:
    """A lifecycle change made by the system rather than a person (a payment arrived, an
    unpaid hold expired): checked, time released when the booking stops being active, and
    recorded in the history like any other change."""
    previous = BookingStatus(booking.status)
    check_transition(previous, target)
    booking.status = target
    booking.updated_at = now
    if reason is not None:
        booking.cancellation_reason = reason
    if target not in ACTIVE_STATUSES:
        service = await service_of(db, booking)
        await release_time(db, booking, service.capacity)
    if target == BookingStatus.CANCELLED:  # e.g. an unpaid hold expired: the code is free again
        released = await release_code(db, booking.id)
        if released is not None:
            details = {**(details or {}), "released_discount_code": released}
    await record(db, booking, SYSTEM, action, previous, details=details)


def _refuse_after_start_unless_staff(
    principal: Principal, ref: BookingRef, booking: Booking, now: datetime, verb: str
) -> None:
    """Once an appointment has started, only the business may change it: a customer or a
    guest cancelling afterwards would otherwise collect a refund for a service they had."""
    is_staff_side = not ref.via_link and is_staff_side_principal(principal)
    if now >= booking.start_time and not is_staff_side:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION,
            f"This booking has already started and can no longer be {verb} online.",
        )


async def release_time(db: AsyncSession, booking: Booking, capacity: int) -> None:
    """The booking stops holding time: its resources and (in a class) its seats are free."""
    await db.execute(
        sa.update(BookingResource).where(BookingResource.booking_id == booking.id).values(active=False)
    )
    if capacity > 1:
        await release_seats(db, booking)
    await db.flush()
