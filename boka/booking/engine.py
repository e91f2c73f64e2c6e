"""The booking engine: create, reschedule and cancel bookings so that none ever collide.

The engine checks availability first, to give a friendly SLOT_UNAVAILABLE; PostgreSQL's
exclusion constraints (and the class-session seat check constraint) are the guarantee when
requests race, and their violations become the same error. A group service (capacity above 1) is
booked into one of its scheduled class sessions (boka/booking/session_seats.py): the request's
start (and staff member, if named) picks the session. On SQLite writes are serialized, so the
check itself is the guarantee there.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import can_book_for_others
from boka.booking.availability import TimeRange, private_slot_key
from boka.booking.calendars import staff_for_service
from boka.booking.customers import FoundCustomer, find_or_add_customer
from boka.booking.history import record
from boka.booking.limits import refuse_over_limit
from boka.booking.policies import refuse_customer_conflicts
from boka.booking.pricing import Quote
from boka.booking.quotes import price_booking, redeem_code
from boka.booking.session_seats import open_sessions, release_session_seats, take_session_seats
from boka.booking.session_time import TimeTaken, queue_for_time, refuse_if_session_holds_room, refuse_if_session_holds_staff
from boka.booking.refusals import RefusalReason
from boka.booking.slot_explanations import reasons_of, refusals_for
from boka.booking.slots import find_slots
from boka.db import keep_in_hand
from boka.errors import Forbidden, NotFound, UserErrorCode, UserInputError
from boka.identity.memberships import add_membership, find_membership
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import (
    ACTIVE_STATUSES,
    Booking,
    BookingResource,
    BookingStatus,
    ClassSeats,
    Customer,
)
from boka.models.catalog import Service, ServiceResource, StaffMember, StaffService
from boka.models.pricing import DiscountCode
from boka.models.sessions import ClassSession
from boka.models.tenancy import Role, Tenant

MAX_NOTES = 2000


@dataclass(frozen=True)
class CustomerDetails:
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None


@dataclass(frozen=True)
class BookingRequest:
    service_id: uuid.UUID
    start: datetime
    staff_id: uuid.UUID | None = None  # None: any staff member (fair assignment)
    customer: CustomerDetails | None = None
    notes: str = ""
    discount_code: str | None = None
    seats: int = 1
    hold_for_payment: bool = False  # stay pending (holding the slot) until paid online
    series_id: uuid.UUID | None = None  # an occurrence of this series (boka/booking/series.py)
    series_index: int | None = None


def slot_unavailable(reasons: tuple[RefusalReason, ...] = ()) -> UserInputError:
    return UserInputError(
        UserErrorCode.SLOT_UNAVAILABLE, "This time is no longer available.", "start",
        reasons=tuple(reason.value for reason in reasons),
    )


async def refuse_slot(
    db: AsyncSession, service: Service, *, start: datetime, now: datetime,
    staff_id: uuid.UUID | None = None, ignore_booking_id: uuid.UUID | None = None, seats: int = 1,
    over_limit: bool = False,
) -> UserInputError:
    """SLOT_UNAVAILABLE with every reason availability gives for ``start`` (with ``staff_id``,
    or with anyone who performs the service). Asked after a check or a claim failed: if the
    time looks free now, a racing request took it and has not committed yet, so BOOKED; or
    LIMIT_REACHED, when the claim found a booking limit reached (``over_limit``)."""
    explained = await refusals_for(
        db, service, start=start, now=now, staff_id=staff_id, ignore_booking_id=ignore_booking_id,
        seats=seats,
    )
    if not explained:  # nobody (active) performs the service, or not the one named
        return slot_unavailable((RefusalReason.NOT_ASSIGNED,))
    reasons = set(reasons_of(explained))
    if over_limit:
        reasons.add(RefusalReason.LIMIT_REACHED)
    return slot_unavailable(
        tuple(reason for reason in RefusalReason if reason in reasons) or (RefusalReason.BOOKED,)
    )


def minutes_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds()) // 60


async def load_service(db: AsyncSession, tenant: Tenant, service_id: uuid.UUID) -> Service:
    service = (
        await db.execute(
            sa.select(Service).where(Service.id == service_id, Service.tenant_id == tenant.id)
        )
    ).scalar_one_or_none()
    if service is None or not service.active:
        raise NotFound("No such service.")
    return service


async def service_of(db: AsyncSession, booking: Booking) -> Service:
    """The booking's service, even if it has been deactivated since."""
    return (await db.execute(sa.select(Service).where(Service.id == booking.service_id))).scalar_one()


async def create_booking(
    db: AsyncSession, principal: Principal, request: BookingRequest, *, now: datetime
) -> Booking:
    tenant = principal.require_tenant()
    if principal.api_key is not None:  # guests may book, but a key only with bookings:write
        principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    service = await load_service(db, tenant, request.service_id)
    check_seats(service, request.seats)
    if len(request.notes) > MAX_NOTES:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Notes are too long.", "notes")
    found = await _customer_for(db, principal, tenant, request.customer, now=now)
    taken = await take_time(db, principal, service, request, found, now=now)
    booking = taken.booking
    if taken.discount_code is not None:
        await redeem_code(db, taken.discount_code, customer=found.customer, booking_id=booking.id)
    keep_in_hand(db, found.customer, service, taken.staff)  # the answer and the events name them
    await record(db, booking, principal, "created", None, details={
        "price_cents": booking.price_cents, "discount_code": request.discount_code,
    })
    return booking


@dataclass(frozen=True)
class Taken:
    booking: Booking
    staff: StaffMember
    discount_code: DiscountCode | None  # priced with it: to redeem


async def take_time(
    db: AsyncSession, principal: Principal, service: Service, request: BookingRequest,
    found: FoundCustomer | None, *, now: datetime,
) -> Taken:
    """Insert the booking (pending or confirmed, as the service and request say) on the first
    candidate staff member or class session whose time the database lets it take; the
    discount code it was priced with, to redeem. ``found`` None: a slot hold nobody has booked
    yet (boka/booking/holds.py), with no customer and the list price. SLOT_UNAVAILABLE with
    every reason when no candidate could take it."""
    tenant = principal.require_tenant()
    if service.capacity > 1:
        candidates = await _sessions_to_try(db, service, request, now=now)
    else:
        candidates = [
            (member, link, None)
            for member, link in await _candidates_in_fair_order(db, principal, service, request, now=now)
        ]
    if not candidates:
        raise await refuse_slot(
            db, service, start=request.start, now=now, staff_id=request.staff_id,
            seats=request.seats,
        )
    customer = found.customer if found is not None else None
    over_limit = claim_lost = False
    for member, link, session in candidates:
        start = session.start_time if session else request.start
        end = session.end_time if session else (
            request.start + timedelta(minutes=link.duration_minutes or service.duration_minutes)
        )
        if found is not None and not found.created:  # a new customer has no bookings anywhere
            await refuse_customer_conflicts(db, tenant, customer_id=found.customer.id, start=start, end=end, now=now)
        if await refuse_over_limit(
            db, service, member, start=start, duration_minutes=minutes_between(start, end),
            lock_with=[other for other, _, _ in candidates],
        ):  # a racing request took the last booking a limit allowed
            over_limit = True
            continue
        priced = await price_booking(
            db, tenant, service, link,
            start=request.start, discount_code=request.discount_code if found else None,
            customer_id=customer.id if customer else None, now=now, seats=request.seats,
        )
        booking = _new_booking(
            tenant, service, member, link, customer, request, priced.quote, principal, now,
            session,
        )
        if await _try_to_hold(db, booking, service, session):
            return Taken(booking, member, priced.discount_code)
        claim_lost = True
    if over_limit and not claim_lost:
        # Only limits refused, moments after availability offered the time: that is the
        # reason, and explaining it again would keep the limits' locks from the queue longer.
        raise slot_unavailable((RefusalReason.LIMIT_REACHED,))
    raise await refuse_slot(
        db, service, start=request.start, now=now, staff_id=request.staff_id, seats=request.seats,
        over_limit=over_limit,
    )


async def quote_booking(
    db: AsyncSession, principal: Principal, request: BookingRequest, *, now: datetime
) -> Quote:
    """What createBooking would charge for this request right now: priced for the staff
    member it would pick (the named one, or the first in the fair order when any staff may
    take it). A start nobody can take gets no price: a NO_AVAILABILITY user error."""
    tenant = principal.require_tenant()
    service = await load_service(db, tenant, request.service_id)
    check_seats(service, request.seats)
    if request.start > now + timedelta(days=service.max_advance_days):
        raise UserInputError(
            UserErrorCode.INVALID_INPUT,
            f"This service is booked at most {service.max_advance_days} days ahead.", "start",
        )
    candidates = await _candidates_in_fair_order(db, principal, service, request, now=now)
    if not candidates:
        raise UserInputError(
            UserErrorCode.NO_AVAILABILITY,
            "Nobody can take this time, so it has no price; pick a time from the availability.",
            "start",
        )
    link = candidates[0][1]
    priced = await price_booking(
        db, tenant, service, link, start=request.start, discount_code=request.discount_code,
        customer_id=None, now=now, seats=request.seats,
    )
    return priced.quote


def check_seats(service: Service, seats: int) -> None:
    if not 1 <= seats <= service.capacity:
        raise UserInputError(UserErrorCode.INVALID_INPUT, f"Book 1 to {service.capacity} seats.", "seats")


def _new_booking(
    tenant: Tenant, service: Service, member: StaffMember, link: StaffService,
    customer: Customer | None, request: BookingRequest, price: Quote, principal: Principal, now: datetime,
    session: ClassSession | None = None,
) -> Booking:
    booking_id = uuid.uuid4()
    if session is not None:  # the session's time, whatever the instructor's own duration
        return Booking(
            id=booking_id, tenant_id=tenant.id, customer_id=customer.id if customer else None,
            service_id=service.id,
            staff_id=session.staff_id, class_session_id=session.id,
            status=_initial_status(service, request),
            start_time=session.start_time, end_time=session.end_time,
            block_start=session.block_start, block_end=session.block_end,
            slot_key=session.slot_key, seats=request.seats, price_cents=price.total,
            list_price_cents=price.base, currency=service.currency, notes=request.notes,
            awaiting_email_proof=principal.user is None,  # see links.py
            created_by_user_id=principal.user.id if principal.user else None,
            series_id=request.series_id, series_index=request.series_index,
            created_at=now, updated_at=now,
        )
    duration = timedelta(minutes=link.duration_minutes or service.duration_minutes)
    start = request.start
    return Booking(
        id=booking_id,
        tenant_id=tenant.id,
        customer_id=customer.id if customer else None,
        service_id=service.id,
        staff_id=member.id,
        status=_initial_status(service, request),
        start_time=start,
        end_time=start + duration,
        block_start=start - timedelta(minutes=service.buffer_before_minutes),
        block_end=start + duration + timedelta(minutes=service.buffer_after_minutes),
        slot_key=slot_key_for(booking_id),
        seats=request.seats,
        price_cents=price.total,
        list_price_cents=price.base,
        currency=service.currency,
        notes=request.notes,
        # a guest's email is unproven until they use the link emailed to it (links.py)
        awaiting_email_proof=principal.user is None,
        created_by_user_id=principal.user.id if principal.user else None,
        series_id=request.series_id,
        series_index=request.series_index,
        created_at=now,
        updated_at=now,
    )


def _initial_status(service: Service, request: BookingRequest) -> BookingStatus:
    return initial_status(service, hold_for_payment=request.hold_for_payment)


def initial_status(service: Service, *, hold_for_payment: bool) -> BookingStatus:
    """Pending while the business must confirm it or its online payment is awaited."""
    if service.requires_confirmation or hold_for_payment:
        return BookingStatus.PENDING
    return BookingStatus.CONFIRMED


def slot_key_for(booking_id: uuid.UUID) -> str:
    """The slot_key of an appointment (a booking of no class session)."""
    return private_slot_key(booking_id)


async def _sessions_to_try(
    db: AsyncSession, service: Service, request: BookingRequest, *, now: datetime
) -> list[tuple[StaffMember, StaffService, ClassSession]]:
    """The sessions of a group service at the requested start (of the named instructor, if
    any) with enough seats left, most seats left first, each with its instructor."""
    sessions = await open_sessions(
        db, service, start=request.start, staff_id=request.staff_id, now=now, seats=request.seats
    )
    if not sessions:
        return []
    instructors = {member.id: (member, link) for member, link in await staff_for_service(db, service)}
    return [
        (*instructors[session.staff_id], session)
        for session in sessions
        if session.staff_id in instructors
    ]


async def customer_for(
    db: AsyncSession, principal: Principal, details: CustomerDetails | None, *, now: datetime
) -> Customer:
    """Whom a request is for, by the same rules as a booking (the waitlist uses them too)."""
    return (await _customer_for(db, principal, principal.require_tenant(), details, now=now)).customer


async def found_customer_for(
    db: AsyncSession, principal: Principal, details: CustomerDetails | None, *, now: datetime
) -> FoundCustomer:
    """``customer_for``, saying whether the customer record is new (booking a hold uses it)."""
    return await _customer_for(db, principal, principal.require_tenant(), details, now=now)


async def _customer_for(
    db: AsyncSession, principal: Principal, tenant: Tenant, details: CustomerDetails | None,
    *, now: datetime,
) -> FoundCustomer:
    """Guests name themselves; signed-in customers book for themselves; staff, managers and
    owners book for whoever they name."""
    user = principal.user
    if user is None or can_book_for_others(principal):
        if details is None:
            raise UserInputError(
                UserErrorCode.INVALID_INPUT, "Say who the booking is for.", "customer"
            )
        return await find_or_add_customer(
            db, tenant_id=tenant.id, email=details.email, first_name=details.first_name,
            last_name=details.last_name, phone=details.phone,
        )
    if details is not None and details.email.strip().lower() != user.email:
        raise Forbidden("Customers can only book for themselves.")
    if principal.role is None:  # a signed-in user booking here for the first time
        if await find_membership(db, tenant_id=tenant.id, user_id=user.id) is None:
            await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=Role.CUSTOMER)
    names = user.full_name.split(" ", 1)
    return await find_or_add_customer(
        db, tenant_id=tenant.id, email=user.email, first_name=names[0],
        last_name=names[1] if len(names) > 1 else "",
        phone=details.phone if details else None, user_id=user.id, now=now,
    )


async def _candidates_in_fair_order(
    db: AsyncSession, principal: Principal, service: Service, request: BookingRequest, *, now: datetime
) -> list[tuple[StaffMember, StaffService]]:
    """Staff who can take the requested start, in the order they should be tried.

    Fair policy for "any staff": the fewest active bookings on that day (in the tenant's
    zone) first; ties go to the longest-serving staff member.
    """
    start = request.start
    performers = await staff_for_service(db, service, request.staff_id)
    slots = await find_slots(
        db, service, window=TimeRange(start, start + timedelta(seconds=1)), now=now,
        staff_id=request.staff_id, staff=performers,
    )
    able = {staff_id for slot in slots if slot.start == start for staff_id in slot.staff_ids}
    staff = [(m, link) for m, link in performers if m.id in able]
    if len(staff) <= 1:
        return staff
    zone = ZoneInfo(principal.require_tenant().time_zone)
    local_day = start.astimezone(zone).date()
    day_start = datetime.combine(local_day, datetime.min.time(), zone)
    counts = dict(
        (
            await db.execute(
                sa.select(Booking.staff_id, sa.func.count())
                .where(
                    Booking.tenant_id == service.tenant_id,
                    Booking.staff_id.in_([m.id for m, _ in staff]),
                    Booking.start_time >= day_start,
                    Booking.start_time < day_start + timedelta(days=1),
                    Booking.status.in_(ACTIVE_STATUSES),
                )
                .group_by(Booking.staff_id)
            )
        ).all()
    )
    return sorted(staff, key=lambda pair: counts.get(pair[0].id, 0))  # stable: oldest first on ties


async def _try_to_hold(
    db: AsyncSession, booking: Booking, service: Service, session: ClassSession | None
) -> bool:
    """Insert the booking with its resources (an appointment) or its seats of the session;
    False if the database says the time is taken (another request won the race)."""

    async def hold() -> None:
        db.add(booking)
        await db.flush()
        if session is None:
            await _hold_resources(db, booking, service)
        else:  # the session holds its room; its bookings take seats
            await take_session_seats(db, booking, session.id)

    return await claim_time(
        db, hold, staff_id=booking.staff_id, block=(booking.block_start, booking.block_end),
        own_session=session.id if session else None,
    )


DEADLOCK_RETRIES = 3


async def claim_time(
    db: AsyncSession, claim: Callable[[], Awaitable[None]], *, staff_id: uuid.UUID,
    block: tuple[datetime, datetime], own_session: uuid.UUID | None = None,
) -> bool:
    """Run ``claim`` (writes that take time from staff, resources or seats) in a savepoint.

    True if it held; False if the database refused an overlap or an oversell. Claims on one
    staff member's time on the same (UTC) days queue on transaction-level advisory locks
    first (overlapping claims always share a day; claims on other days do not wait, which
    matters while a paid booking's transaction waits for the payment provider): without it, two
    requests inserting overlapping times each wait for the other's uncommitted row in the
    exclusion index, a deadlock PostgreSQL needs a second (deadlock_timeout) to break, and a
    crowd of such requests stalled long enough to exhaust the connection pool (seen in the
    60-request race test). Deadlocks that remain (resources shared across staff) are retried:
    the victim rolls back to the savepoint and then waits for the survivor, so the answer is
    always the true one.

    Once queued, the claim checks that no class session (other than ``own_session``, the one
    the claim is for) holds the staff member then: sessions live in their own table, which the
    bookings' exclusion constraint cannot see (boka/booking/session_time.py).
    """
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            async with db.begin_nested():
                await queue_for_time(db, f"staff:{staff_id}", block)
                await refuse_if_session_holds_staff(db, staff_id, block, own_session=own_session)
                await claim()
            return True
        except TimeTaken:
            return False
        except IntegrityError as error:
            if is_collision(error):
                return False
            raise
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != DEADLOCK_DETECTED or attempt == DEADLOCK_RETRIES:
                raise
    raise AssertionError("unreachable")


async def _hold_resources(db: AsyncSession, booking: Booking, service: Service) -> None:
    resource_ids = (
        await db.execute(
            sa.select(ServiceResource.resource_id).where(ServiceResource.service_id == service.id)
        )
    ).scalars()
    block = (booking.block_start, booking.block_end)
    for resource_id in sorted(resource_ids):  # in one order, so two claims never wait crosswise
        await queue_for_time(db, f"resource:{resource_id}", block)
        await refuse_if_session_holds_room(db, resource_id, block, own_session=None)
        db.add(
            BookingResource(
                booking_id=booking.id, resource_id=resource_id, tenant_id=booking.tenant_id,
                block_start=booking.block_start, block_end=booking.block_end,
                slot_key=booking.slot_key, active=True,
            )
        )
    await db.flush()


async def release_seats(db: AsyncSession, booking: Booking) -> None:
    """Give the booking's seats back to its class session (or, for a group booking made before
    sessions existed, to its legacy seat count)."""
    if booking.class_session_id is not None:
        await release_session_seats(db, booking.class_session_id, booking.seats)
        return
    await db.execute(
        sa.update(ClassSeats)
        .where(ClassSeats.slot_key == booking.slot_key)
        .values(seats_taken=ClassSeats.seats_taken - booking.seats)
    )


# The constraints whose violation means "someone else took this time" (a lost race); any
# other integrity error is a bug and must not pass for a taken slot.
COLLISION_CONSTRAINTS = (
    "ex_bookings_staff_overlap",
    "ex_booking_resources_overlap",
    "ck_class_seats_within_capacity",
    "ck_class_sessions_within_capacity",
    "ex_class_sessions_staff_overlap",
    "ex_class_sessions_room_overlap",
)
DEADLOCK_DETECTED = "40P01"


def is_collision(error: IntegrityError) -> bool:
    message = str(error.orig)
    return any(name in message for name in COLLISION_CONSTRAINTS)
