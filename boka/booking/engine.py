"""The booking engine: create, reschedule and cancel bookings so that none ever collide.

The engine checks availability first, to give a friendly SLOT_UNAVAILABLE; PostgreSQL's
exclusion constraints (and the class-seat check constraint) are the guarantee when requests
race, and their violations become the same error. On SQLite writes are serialized, so the
check itself is the guarantee there.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import can_book_for_others
from boka.booking.availability import TimeRange, group_slot_key, private_slot_key
from boka.booking.calendars import staff_for_service
from boka.booking.customers import find_or_create_customer
from boka.booking.history import record
from boka.booking.pricing import Quote
from boka.booking.quotes import price_booking, redeem_code
from boka.booking.slots import find_slots
from boka.db import dialect_insert
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


def slot_unavailable() -> UserInputError:
    return UserInputError(
        UserErrorCode.SLOT_UNAVAILABLE, "This time is no longer available.", "start"
    )


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
    _check_seats(service, request.seats)
    if len(request.notes) > MAX_NOTES:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Notes are too long.", "notes")
    customer = await _customer_for(db, principal, tenant, request.customer, now=now)
    candidates = await _candidates_in_fair_order(db, principal, service, request, now=now)
    if not candidates:
        raise slot_unavailable()
    for member, link in candidates:
        priced = await price_booking(
            db, tenant, service, link,
            start=request.start, discount_code=request.discount_code,
            customer_id=customer.id, now=now, seats=request.seats,
        )
        booking = _new_booking(
            tenant, service, member, link, customer, request, priced.quote.total, principal, now
        )
        if await _try_to_hold(db, booking, service):
            if priced.discount_code is not None:
                await redeem_code(db, priced.discount_code, customer=customer, booking_id=booking.id)
            await record(db, booking, principal, "created", None, details={
                "price_cents": booking.price_cents, "discount_code": request.discount_code,
            })
            return booking
    raise slot_unavailable()


async def quote_booking(
    db: AsyncSession, principal: Principal, request: BookingRequest, *, now: datetime
) -> Quote:
    """What createBooking would charge for this request right now: priced for the staff
    member it would pick (the named one, or the first in the fair order when any staff may
    take it), or at the service's own price when nobody can take that start."""
    tenant = principal.require_tenant()
    service = await load_service(db, tenant, request.service_id)
    _check_seats(service, request.seats)
    if request.start > now + timedelta(days=service.max_advance_days):
        raise UserInputError(
            UserErrorCode.INVALID_INPUT,
            f"This service is booked at most {service.max_advance_days} days ahead.", "start",
        )
    candidates = await _candidates_in_fair_order(db, principal, service, request, now=now)
    if not candidates and request.staff_id is not None:
        candidates = await staff_for_service(db, service, request.staff_id)
    link = candidates[0][1] if candidates else None
    priced = await price_booking(
        db, tenant, service, link, start=request.start, discount_code=request.discount_code,
        customer_id=None, now=now, seats=request.seats,
    )
    return priced.quote


def _check_seats(service: Service, seats: int) -> None:
    if not 1 <= seats <= service.capacity:
        raise UserInputError(UserErrorCode.INVALID_INPUT, f"Book 1 to {service.capacity} seats.", "seats")


def _new_booking(
    tenant: Tenant, service: Service, member: StaffMember, link: StaffService,
    customer: Customer, request: BookingRequest, price: int, principal: Principal, now: datetime,
) -> Booking:
    booking_id = uuid.uuid4()
    duration = timedelta(minutes=link.duration_minutes or service.duration_minutes)
    start = request.start
    return Booking(
        id=booking_id,
        tenant_id=tenant.id,
        customer_id=customer.id,
        service_id=service.id,
        staff_id=member.id,
        status=(
            BookingStatus.PENDING
            if service.requires_confirmation or request.hold_for_payment
            else BookingStatus.CONFIRMED
        ),
        start_time=start,
        end_time=start + duration,
        block_start=start - timedelta(minutes=service.buffer_before_minutes),
        block_end=start + duration + timedelta(minutes=service.buffer_after_minutes),
        slot_key=slot_key_for(service, member.id, start, booking_id),
        seats=request.seats,
        price_cents=price,
        currency=service.currency,
        notes=request.notes,
        created_by_user_id=principal.user.id if principal.user else None,
        created_at=now,
        updated_at=now,
    )


def slot_key_for(service: Service, staff_id: uuid.UUID, start: datetime, booking_id: uuid.UUID) -> str:
    if service.capacity > 1:
        return group_slot_key(service.id, staff_id, start)
    return private_slot_key(booking_id)


async def _customer_for(
    db: AsyncSession, principal: Principal, tenant: Tenant, details: CustomerDetails | None,
    *, now: datetime,
) -> Customer:
    """Guests name themselves; signed-in customers book for themselves; staff, managers and
    owners book for whoever they name."""
    user = principal.user
    if user is None or can_book_for_others(principal):
        if details is None:
            raise UserInputError(
                UserErrorCode.INVALID_INPUT, "Say who the booking is for.", "customer"
            )
        return await find_or_create_customer(
            db, tenant_id=tenant.id, email=details.email, first_name=details.first_name,
            last_name=details.last_name, phone=details.phone,
        )
    if details is not None and details.email.strip().lower() != user.email:
        raise Forbidden("Customers can only book for themselves.")
    if principal.role is None:  # a signed-in user booking here for the first time
        if await find_membership(db, tenant_id=tenant.id, user_id=user.id) is None:
            await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=Role.CUSTOMER)
    names = user.full_name.split(" ", 1)
    return await find_or_create_customer(
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
    slots = await find_slots(
        db, service, window=TimeRange(start, start + timedelta(seconds=1)), now=now,
        staff_id=request.staff_id,
    )
    able = {staff_id for slot in slots if slot.start == start for staff_id in slot.staff_ids}
    staff = [(m, link) for m, link in await staff_for_service(db, service, request.staff_id) if m.id in able]
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


async def _try_to_hold(db: AsyncSession, booking: Booking, service: Service) -> bool:
    """Insert the booking, its resources and its seats; False if the database says the time
    is taken (another request won the race)."""

    async def hold() -> None:
        db.add(booking)
        await db.flush()
        await _hold_resources(db, booking, service)
        if service.capacity > 1:
            await take_seats(db, booking.tenant_id, booking.slot_key, service.capacity, booking.seats)

    return await claim_time(db, hold, staff_id=booking.staff_id, block=(booking.block_start, booking.block_end))


DEADLOCK_RETRIES = 3


async def claim_time(
    db: AsyncSession, claim: Callable[[], Awaitable[None]], *, staff_id: uuid.UUID,
    block: tuple[datetime, datetime],
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
    """
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            async with db.begin_nested():
                await _queue_for_staff_time(db, staff_id, block)
                await claim()
            return True
        except IntegrityError as error:
            if is_collision(error):
                return False
            raise
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != DEADLOCK_DETECTED or attempt == DEADLOCK_RETRIES:
                raise
    raise AssertionError("unreachable")


async def _queue_for_staff_time(
    db: AsyncSession, staff_id: uuid.UUID, block: tuple[datetime, datetime]
) -> None:
    """Wait for any other transaction claiming this staff member's time on the same days
    (PostgreSQL; SQLite has one writer anyway). Locks are taken in date order, so two claims
    never wait for each other crosswise; they are held until commit or rollback."""
    if db.bind.dialect.name != "postgresql":
        return
    start, end = (moment.astimezone(UTC).date() for moment in block)
    day = start
    while day <= end:
        await db.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"boka:staff-time:{staff_id}:{day.isoformat()}"},
        )
        day += timedelta(days=1)


async def _hold_resources(db: AsyncSession, booking: Booking, service: Service) -> None:
    resource_ids = (
        await db.execute(
            sa.select(ServiceResource.resource_id).where(ServiceResource.service_id == service.id)
        )
    ).scalars()
    for resource_id in resource_ids:
        db.add(
            BookingResource(
                booking_id=booking.id, resource_id=resource_id, tenant_id=booking.tenant_id,
                block_start=booking.block_start, block_end=booking.block_end,
                slot_key=booking.slot_key, active=True,
            )
        )
    await db.flush()


async def take_seats(
    db: AsyncSession, tenant_id: uuid.UUID, slot_key: str, capacity: int, seats: int
) -> None:
    """One atomic upsert; the row's CHECK (seats_taken <= capacity) refuses an oversell."""
    statement = dialect_insert(db)(ClassSeats).values(
        slot_key=slot_key, tenant_id=tenant_id, capacity=capacity, seats_taken=seats
    )
    statement = statement.on_conflict_do_update(
        index_elements=[ClassSeats.slot_key],
        # the service's capacity as it is now, should the owner have changed it since the
        # session's first booking
        set_={
            "seats_taken": ClassSeats.seats_taken + statement.excluded.seats_taken,
            "capacity": statement.excluded.capacity,
        },
    )
    await db.execute(statement)


async def release_seats(db: AsyncSession, slot_key: str, seats: int) -> None:
    await db.execute(
        sa.update(ClassSeats)
        .where(ClassSeats.slot_key == slot_key)
        .values(seats_taken=ClassSeats.seats_taken - seats)
    )


# The constraints whose violation means "someone else took this time" (a lost race); any
# other integrity error is a bug and must not pass for a taken slot.
COLLISION_CONSTRAINTS = (
    "ex_bookings_staff_overlap",
    "ex_booking_resources_overlap",
    "ck_class_seats_within_capacity",
)
DEADLOCK_DETECTED = "40P01"


def is_collision(error: IntegrityError) -> bool:
    message = str(error.orig)
    return any(name in message for name in COLLISION_CONSTRAINTS)
