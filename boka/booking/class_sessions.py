"""Class sessions of group services: scheduling them one by one or from a weekly timetable,
moving them, changing their instructor or room, and cancelling them. Managers and owners only.

A session lies inside its instructor's working time (hours, breaks, day overrides, time off:
boka/booking/session_hours.py), and takes the instructor's (and room's) time as an appointment does: its claim queues on
the same per-staff-day locks as bookings and checks their time (boka/booking/session_time.py),
and PostgreSQL's exclusion constraints keep two sessions of one instructor or room apart. Its
bookings share its slot_key, so the bookings' own exclusion constraint lets them overlap one
another but not anything else of the instructor's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import TimeRange
from boka.booking.catalog import SERVICE_LIMITS, get_in_tenant, require_catalog_manager
from boka.booking.changes import BookingRef, cancel_booking
from boka.booking.engine import claim_time
from boka.booking.history import record
from boka.booking.lifecycle import CancellationTerms
from boka.booking.quotes import requote_booking
from boka.booking.session_hours import off_duty, off_duty_error
from boka.booking.refusals import RefusalReason
from boka.booking.session_time import (
    queue_for_time,
    refuse_if_booked,
    refuse_if_session_holds_room,
    what_holds_session_time,
)
from boka.booking.timetables import MAX_SESSIONS, WeeklyTimetable, timetable_starts
from boka.errors import InvalidRequest, UserErrorCode, UserInputError, raise_collected
from boka.events.availability import record_availability_change, services_of_staff
from boka.events.types import SERVICE
from boka.identity.principal import Principal
from boka.models.bookings import ACTIVE_STATUSES, Booking
from boka.models.catalog import Resource, Service, StaffMember, StaffService
from boka.models.sessions import ClassSession, ClassSessionStatus
from boka.models.tenancy import Tenant
from boka.validation import check_instant, check_range, check_wall_clock, clean_text, invalid

LONGEST_TIMETABLE = timedelta(days=366)
LONGEST_READ_WINDOW = timedelta(days=62)
CAPACITY_FIELD = SERVICE_LIMITS["capacity"]


@dataclass(frozen=True)
class SessionPlan:
    """What every session of a create (one, or a timetable's) shares."""

    service_id: uuid.UUID
    staff_id: uuid.UUID
    resource_id: uuid.UUID | None = None
    capacity: int | None = None  # None: the service's


@dataclass(frozen=True)
class SessionChange:
    """What an update changes; None leaves it as it is."""

    start: datetime | None = None
    staff_id: uuid.UUID | None = None
    resource_id: uuid.UUID | None = None
    remove_room: bool = False
    capacity: int | None = None


@dataclass(frozen=True)
class _Setting:
    """The checked rows a session is built from."""

    service: Service
    link: StaffService
    resource_id: uuid.UUID | None


def busy(
    field: str = "start", when: str = "", reasons: tuple[RefusalReason, ...] = ()
) -> UserInputError:
    return UserInputError(
        UserErrorCode.SLOT_UNAVAILABLE,
        f"{when}The instructor or the room is already taken at this time.", field,
        reasons=tuple(reason.value for reason in reasons),
    )


async def _busy_for(
    db: AsyncSession, claimed: _Claimed, own_session: uuid.UUID | None,
    field: str = "start", when: str = "",
) -> UserInputError:
    """SLOT_UNAVAILABLE for a session whose claim failed, with what holds its time."""
    reasons = await what_holds_session_time(
        db, staff_id=claimed.staff_id, resource_id=claimed.resource_id,
        block=(claimed.block_start, claimed.block_end), own_session=own_session,
        slot_key=claimed.slot_key,
    )
    return busy(field, when, reasons)


async def create_class_session(
    db: AsyncSession, principal: Principal, plan: SessionPlan, *, start: datetime, now: datetime
) -> ClassSession:
    tenant = require_catalog_manager(principal)
    setting = await _setting(db, tenant, plan)
    session = _new_session(tenant, setting, plan, check_instant(start, "start"), now)
    _check_future(session, now, "start")
    claimed = _copy_times(session)
    if not await _claim(db, session):
        raise await _busy_for(db, claimed, claimed.id)
    # After the claim: it holds the instructor's day locks, which addTimeOff takes too, so
    # time off committed meanwhile is seen here, or sees this session (schedules.py).
    refused = (await off_duty(db, session.staff_id, [session])).get(session.id)
    if refused:
        raise off_duty_error(refused, "start")
    await _announce(db, session, [session.staff_id])
    return session


async def create_class_timetable(
    db: AsyncSession, principal: Principal, plan: SessionPlan, timetable: WeeklyTimetable, *,
    now: datetime,
) -> list[ClassSession]:
    """Sessions on the timetable's weekdays at its local time (in the tenant's zone) from its
    first until its last day; all of them, or none if any cannot be held."""
    tenant = require_catalog_manager(principal)
    if not timetable.weekdays or not all(0 <= day <= 6 for day in timetable.weekdays):
        raise invalid("Name one or more weekdays, 0 (Monday) to 6 (Sunday).", "weekdays")
    check_wall_clock(timetable.local_time, "localTime")
    if timetable.last_day < timetable.first_day:
        raise invalid("The timetable must end on or after its first day.", "untilDate")
    if timetable.last_day - timetable.first_day > LONGEST_TIMETABLE:
        raise invalid(f"A timetable spans at most {LONGEST_TIMETABLE.days} days.", "untilDate")
    setting = await _setting(db, tenant, plan)
    starts = timetable_starts(timetable, ZoneInfo(tenant.time_zone))
    if not starts:
        raise invalid("No date between the first and last day falls on these weekdays.", "weekdays")
    if len(starts) > MAX_SESSIONS:
        raise invalid(f"A timetable makes at most {MAX_SESSIONS} sessions.", "untilDate")
    sessions = [_new_session(tenant, setting, plan, start, now) for start in starts]
    _check_future(sessions[0], now, "fromDate")
    zone = ZoneInfo(tenant.time_zone)
    errors: dict[uuid.UUID, UserInputError] = {}
    held = []
    for session in sessions:  # every date that cannot be held is named, not only the first
        claimed = _copy_times(session)
        if await _claim(db, session):
            held.append(session)
        else:
            day = claimed.start_time.astimezone(zone).date().isoformat()
            errors[claimed.id] = await _busy_for(db, claimed, claimed.id, "fromDate", f"On {day}: ")
    # after the claims, as for one session: they hold the locks addTimeOff takes
    for session_id, reasons in (await off_duty(db, plan.staff_id, held)).items():
        session = next(s for s in held if s.id == session_id)
        errors[session_id] = off_duty_error(reasons, "fromDate", on=session.start_time, zone=zone)
    # all or nothing: raising rolls the transaction back, with every session it held
    raise_collected([errors[s.id] for s in sessions if s.id in errors])
    await _announce(db, sessions[0], [plan.staff_id], end=sessions[-1].block_end)
    return sessions


@dataclass(frozen=True)
class MovedBooking:
    """A booking that moved with its session, and its price before the move."""

    booking: Booking
    previous_price_cents: int


async def update_class_session(
    db: AsyncSession, principal: Principal, session_id: uuid.UUID, change: SessionChange, *,
    now: datetime,
) -> tuple[ClassSession, list[MovedBooking]]:
    """Move a session, change its instructor, room or capacity. Its bookings stay: they move
    with it (each recorded as rescheduled, so their customers hear of it), each quoted again
    at the new time and instructor (``_requote_moved``); the caller settles their money."""
    tenant = require_catalog_manager(principal)
    session = await _scheduled_session(db, tenant, session_id)
    if change.capacity is not None:
        check_range(change.capacity, "capacity", CAPACITY_FIELD[1], CAPACITY_FIELD[2])
        if change.capacity < session.seats_taken:
            raise invalid(f"{session.seats_taken} seats are already taken.", "capacity")
        session.capacity = change.capacity
    moves = change.start is not None or change.staff_id is not None
    rooms = change.resource_id is not None or change.remove_room
    if not (moves or rooms):
        session.updated_at = now
        await db.flush()
        return session, []
    plan = SessionPlan(
        service_id=session.service_id, staff_id=change.staff_id or session.staff_id,
        resource_id=None if change.remove_room else (change.resource_id or session.resource_id),
    )
    setting = await _setting(db, tenant, plan)
    start = check_instant(change.start, "start") if change.start else session.start_time
    moved = _new_session(tenant, setting, plan, start, now)
    _check_future(moved, now, "start")
    previous_staff = session.staff_id
    previous = {"start": session.start_time.isoformat(), "end": session.end_time.isoformat(),
                "staff_id": str(session.staff_id)}
    for column in ("staff_id", "resource_id", "start_time", "end_time", "block_start", "block_end"):
        setattr(session, column, getattr(moved, column))
    session.updated_at = now

    async def hold() -> None:
        await _check_free(db, session)
        await db.flush()
        await db.execute(
            sa.update(Booking)
            .where(Booking.class_session_id == session.id, Booking.status.in_(ACTIVE_STATUSES))
            .values(staff_id=session.staff_id, start_time=session.start_time,
                    end_time=session.end_time, block_start=session.block_start,
                    block_end=session.block_end, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )

    block = (session.block_start, session.block_end)
    claimed = _copy_times(session)
    if not await claim_time(db, hold, staff_id=session.staff_id, block=block, own_session=session.id):
        raise await _busy_for(db, claimed, claimed.id)
    if moves:  # after the claim, which holds the locks addTimeOff takes
        refused = (await off_duty(db, session.staff_id, [session])).get(session.id)
        if refused:
            raise off_duty_error(refused, "start" if change.start is not None else "staffId")
    moved_bookings = []
    if moves:
        for booking in await _active_bookings(db, session):
            previous_price = booking.price_cents
            await _requote_moved(db, tenant, setting, booking, now=now)
            moved_bookings.append(MovedBooking(booking, previous_price))
            await record(db, booking, principal, "rescheduled", booking.status, details={
                "from": {**previous, "price_cents": previous_price},
                "to": {"start": session.start_time.isoformat(), "staff_id": str(session.staff_id),
                       "price_cents": booking.price_cents},
                "class_session_id": str(session.id), "moved_by_business": True,
            })
    await _announce(db, session, [previous_staff, session.staff_id])
    return session, moved_bookings


async def _requote_moved(
    db: AsyncSession, tenant: Tenant, setting: _Setting, booking: Booking, *, now: datetime
) -> None:
    """A booking whose session the business moved: its price quoted again at the new time and
    instructor (its discount code still applies, the fees of its own late moves stay), but
    never above what it was: the customer did not ask for the move, so it may make the class
    cheaper (the difference goes back) and never dearer. No late-move policy applies either:
    it governs the customer's own moves."""
    requoted = await requote_booking(
        db, tenant, setting.service, setting.link, booking, start=booking.start_time
    )
    price = min(booking.price_cents, requoted.quote.total + booking.kept_fee_cents)
    if price != booking.price_cents:
        booking.price_cents = price
        booking.updated_at = now
        await db.flush()


async def cancel_class_session(
    db: AsyncSession, principal: Principal, session_id: uuid.UUID, *, reason: str, now: datetime
) -> tuple[ClassSession, list[tuple[Booking, CancellationTerms]]]:
    """Cancel a session and every active booking of it, through the usual cancellation (its
    history, events and messages), each refunded in full: the business cancelled, not the
    customer. The caller settles each booking's money as it does for a cancelled booking."""
    tenant = require_catalog_manager(principal)
    reason = clean_text(reason, "reason", max_length=500, min_length=0)
    session = await _scheduled_session(db, tenant, session_id)
    session.status = ClassSessionStatus.CANCELLED.value
    session.cancellation_reason = reason or None
    session.updated_at = now
    await db.flush()
    cancelled = []
    for booking in await _active_bookings(db, session):
        full_refund = CancellationTerms(refund_percent=100, kept_fee_cents=0, free=True)
        cancelled.append(await cancel_booking(
            db, principal, BookingRef(booking.id), reason=reason or "The class was cancelled.",
            now=now, terms=full_refund,
        ))
    await db.refresh(session)
    await _announce(db, session, [session.staff_id])
    return session, cancelled


async def class_sessions_in(
    db: AsyncSession, principal: Principal, *, window: TimeRange,
    service_id: uuid.UUID | None = None, staff_id: uuid.UUID | None = None,
) -> list[ClassSession]:
    """The tenant's sessions starting in ``window``, by start: what a timetable page shows.
    Anyone who may see the tenant's catalogue may see them (availability shows them anyway)."""
    tenant = principal.require_tenant()
    if window.end - window.start > LONGEST_READ_WINDOW:
        raise InvalidRequest(f"Ask for at most {LONGEST_READ_WINDOW.days} days at a time.")
    statement = (
        sa.select(ClassSession)
        .where(
            ClassSession.tenant_id == tenant.id,
            ClassSession.start_time >= window.start,
            ClassSession.start_time < window.end,
        )
        .order_by(ClassSession.start_time, ClassSession.id)
    )
    if service_id is not None:
        statement = statement.where(ClassSession.service_id == service_id)
    if staff_id is not None:
        statement = statement.where(ClassSession.staff_id == staff_id)
    return list((await db.execute(statement)).scalars())


async def class_sessions_by_ids(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, ClassSession]:
    tenant = principal.require_tenant()
    if not ids:
        return {}
    statement = sa.select(ClassSession).where(
        ClassSession.id.in_(ids), ClassSession.tenant_id == tenant.id
    )
    return {session.id: session for session in (await db.execute(statement)).scalars()}


# --- the parts ---


async def _setting(db: AsyncSession, tenant: Tenant, plan: SessionPlan) -> _Setting:
    """The group service, the instructor's link to it and the room, all checked."""
    service = (await db.execute(
        sa.select(Service).where(Service.id == plan.service_id, Service.tenant_id == tenant.id)
    )).scalar_one_or_none()
    if service is None or not service.active:
        raise invalid("No active service with this ID.", "serviceId")
    if service.capacity < 2:
        raise invalid(
            "Only a group service (capacity above 1) is sold as class sessions.", "serviceId"
        )
    link = (await db.execute(
        sa.select(StaffService)
        .join(StaffMember, StaffMember.id == StaffService.staff_member_id)
        .where(
            StaffService.service_id == service.id, StaffService.staff_member_id == plan.staff_id,
            StaffMember.tenant_id == tenant.id, StaffMember.active.is_(True),
        )
    )).scalar_one_or_none()
    if link is None:
        raise invalid("No active staff member with this ID teaches this class.", "staffId")
    if plan.resource_id is not None:
        room = (await db.execute(
            sa.select(Resource).where(
                Resource.id == plan.resource_id, Resource.tenant_id == tenant.id,
                Resource.active.is_(True),
            )
        )).scalar_one_or_none()
        if room is None:
            raise invalid("No active resource with this ID.", "roomId")
    if plan.capacity is not None:
        check_range(plan.capacity, "capacity", CAPACITY_FIELD[1], CAPACITY_FIELD[2])
    return _Setting(service=service, link=link, resource_id=plan.resource_id)


def _new_session(
    tenant: Tenant, setting: _Setting, plan: SessionPlan, start: datetime, now: datetime
) -> ClassSession:
    return new_session(
        setting.service, plan.staff_id, start, now=now, resource_id=setting.resource_id,
        capacity=plan.capacity, duration_minutes=setting.link.duration_minutes,
    )


def new_session(
    service: Service, staff_id: uuid.UUID, start: datetime, *, now: datetime,
    resource_id: uuid.UUID | None = None, capacity: int | None = None,
    duration_minutes: int | None = None,
) -> ClassSession:
    """A scheduled session row of ``service`` (not yet checked against anyone's time): the
    class lasts the instructor's own duration if they have one, plus the service's buffers."""
    end = start + timedelta(minutes=duration_minutes or service.duration_minutes)
    return ClassSession(
        id=uuid.uuid4(), tenant_id=service.tenant_id, service_id=service.id, staff_id=staff_id,
        resource_id=resource_id, status=ClassSessionStatus.SCHEDULED.value,
        start_time=start, end_time=end,
        block_start=start - timedelta(minutes=service.buffer_before_minutes),
        block_end=end + timedelta(minutes=service.buffer_after_minutes),
        capacity=capacity or service.capacity, seats_taken=0, created_at=now, updated_at=now,
    )


def _check_future(session: ClassSession, now: datetime, field: str) -> None:
    if session.start_time <= now:
        raise invalid("A class session must start in the future.", field)


async def _check_free(db: AsyncSession, session: ClassSession) -> None:
    """Inside a claim (the instructor's time already queued for and checked against other
    sessions): the room's time, then the instructor's and room's appointments."""
    block = (session.block_start, session.block_end)
    if session.resource_id is not None:
        await queue_for_time(db, f"resource:{session.resource_id}", block)
        await refuse_if_session_holds_room(db, session.resource_id, block, own_session=session.id)
    await refuse_if_booked(
        db, staff_id=session.staff_id, resource_id=session.resource_id, block=block,
        slot_key=session.slot_key,
    )


@dataclass(frozen=True)
class _Claimed:
    """What a session's claim holds, read before the claim: its savepoint may roll back."""

    id: uuid.UUID
    staff_id: uuid.UUID
    resource_id: uuid.UUID | None
    start_time: datetime
    block_start: datetime
    block_end: datetime
    slot_key: str


def _copy_times(session: ClassSession) -> _Claimed:
    return _Claimed(
        id=session.id, staff_id=session.staff_id, resource_id=session.resource_id,
        start_time=session.start_time, block_start=session.block_start,
        block_end=session.block_end, slot_key=session.slot_key,
    )


async def _claim(db: AsyncSession, session: ClassSession) -> bool:
    async def hold() -> None:
        await _check_free(db, session)
        db.add(session)
        await db.flush()

    block = (session.block_start, session.block_end)
    held = await claim_time(db, hold, staff_id=session.staff_id, block=block, own_session=session.id)
    if not held and session in db:
        db.expunge(session)
    return held


async def _scheduled_session(db: AsyncSession, tenant: Tenant, session_id: uuid.UUID) -> ClassSession:
    session = await get_in_tenant(
        db, ClassSession, session_id, tenant_id=tenant.id, label="class session",
        lock=db.bind.dialect.name == "postgresql",
    )
    if session.status != ClassSessionStatus.SCHEDULED.value:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION, "This class session has been cancelled."
        )
    return session


async def _active_bookings(db: AsyncSession, session: ClassSession) -> list[Booking]:
    """The session's bookings (seats held by a checkout nobody booked yet are no booking: they
    run out, and a cancelled session cannot be booked from its hold)."""
    statement = (
        sa.select(Booking)
        .where(Booking.class_session_id == session.id, Booking.status.in_(ACTIVE_STATUSES),
               Booking.customer_id.is_not(None))
        .order_by(Booking.created_at, Booking.id)
    )
    return list((await db.execute(statement)).scalars())


async def _announce(
    db: AsyncSession, session: ClassSession, staff_ids: list[uuid.UUID], *,
    end: datetime | None = None,
) -> None:
    """availability.changed for the session's time: its service, and every service its
    instructors perform (their appointments' slots move with it)."""
    services = await services_of_staff(db, staff_ids)
    services.add(session.service_id)
    await record_availability_change(
        db, tenant_id=session.tenant_id, aggregate_type=SERVICE, aggregate_id=session.service_id,
        service_ids=services, staff_ids=staff_ids, start=session.block_start,
        end=end or session.block_end,
    )
