"""Seats of class sessions: which sessions a customer can book, and taking or giving back seats.

A group service (capacity above 1) is sold only as its scheduled sessions: its availability is
the list of its sessions with seats left, and a booking takes seats of one session. Taking seats
is one atomic UPDATE of the session row; its CHECK (seats_taken <= capacity) refuses an oversell
whichever path the seats come from (a new booking, a reschedule into the session), and the row
lock it takes orders racing requests.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import Slot, Span, TimeRange, booking_horizon
from boka.booking.calendars import service_rules
from boka.booking.limits import rules_out
from boka.booking.session_time import TimeTaken
from boka.models.bookings import Booking
from boka.models.catalog import Service
from boka.models.sessions import ClassSession, ClassSessionStatus


def _bookable(service: Service, now: datetime) -> sa.ColumnElement[bool]:
    """Scheduled sessions of ``service`` within its booking horizon (min notice, max advance:
    ``booking_horizon``, as for appointments and explanations)."""
    earliest, limit = booking_horizon(service_rules(service), now)
    return sa.and_(
        ClassSession.service_id == service.id,
        ClassSession.status == ClassSessionStatus.SCHEDULED.value,
        ClassSession.start_time >= earliest,
        ClassSession.start_time < limit,
    )


async def sessions_at(db: AsyncSession, service: Service, start: datetime) -> list[ClassSession]:
    """The scheduled sessions of ``service`` at ``start``, whatever their seats and horizon:
    what an explanation of that start judges (``boka.booking.slot_explanations``)."""
    statement = sa.select(ClassSession).where(
        ClassSession.service_id == service.id,
        ClassSession.status == ClassSessionStatus.SCHEDULED.value,
        ClassSession.start_time == start,
    )
    return list((await db.execute(statement)).scalars())


async def open_sessions(
    db: AsyncSession, service: Service, *, start: datetime, staff_id: uuid.UUID | None,
    now: datetime, seats: int = 1, except_session: uuid.UUID | None = None,
) -> list[ClassSession]:
    """The sessions of ``service`` starting at ``start`` (taught by ``staff_id`` if given) with
    at least ``seats`` seats left, most seats left first: where a booking of that start goes."""
    statement = (
        sa.select(ClassSession)
        .where(
            _bookable(service, now),
            ClassSession.start_time == start,
            ClassSession.capacity - ClassSession.seats_taken >= seats,
        )
        .order_by((ClassSession.capacity - ClassSession.seats_taken).desc(), ClassSession.id)
    )
    if staff_id is not None:
        statement = statement.where(ClassSession.staff_id == staff_id)
    if except_session is not None:
        statement = statement.where(ClassSession.id != except_session)
    return list((await db.execute(statement)).scalars())


async def session_slots(
    db: AsyncSession, service: Service, *, window: TimeRange, now: datetime,
    staff_id: uuid.UUID | None, limited: Mapping[uuid.UUID, tuple[Span, ...]] = MappingProxyType({}),
) -> list[Slot]:
    """Availability of a group service: one slot per start of its sessions in ``window`` with a
    seat left, naming every instructor who has a session then and the most seats any has left.
    A session whose start a booking limit rules out (``limited``, per instructor: spans of
    starts as ``boka.booking.limits.limited_starts`` gives them) is left out."""
    statement = (
        sa.select(ClassSession)
        .where(
            _bookable(service, now),
            ClassSession.start_time >= window.start,
            ClassSession.start_time < window.end,
            ClassSession.seats_taken < ClassSession.capacity,
        )
        .order_by(ClassSession.start_time, ClassSession.staff_id)
    )
    if staff_id is not None:
        statement = statement.where(ClassSession.staff_id == staff_id)
    merged: dict[tuple[datetime, datetime], Slot] = {}
    for session in (await db.execute(statement)).scalars():
        if rules_out(limited.get(session.staff_id, ()), session.start_time):
            continue
        key = (session.start_time, session.end_time)
        left = session.capacity - session.seats_taken
        other = merged.get(key)
        if other is None:
            merged[key] = Slot(session.start_time, session.end_time, (session.staff_id,), left)
        else:
            staff_ids = tuple(sorted({*other.staff_ids, session.staff_id}, key=str))
            merged[key] = Slot(key[0], key[1], staff_ids, max(other.seats_left, left))
    return [merged[key] for key in sorted(merged)]


async def take_session_seats(db: AsyncSession, booking: Booking, session_id: uuid.UUID) -> None:
    """Take the booking's seats of the session, and check the booking's time and instructor are
    still the session's (a move may have committed since they were read). TimeTaken if the
    session was cancelled or moved meanwhile; an IntegrityError on the capacity check if full."""
    held = (
        await db.execute(
            sa.update(ClassSession)
            .where(
                ClassSession.id == session_id,
                ClassSession.status == ClassSessionStatus.SCHEDULED.value,
            )
            .values(seats_taken=ClassSession.seats_taken + booking.seats)
            .returning(ClassSession.staff_id, ClassSession.start_time, ClassSession.block_end)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if held is None or tuple(held) != (booking.staff_id, booking.start_time, booking.block_end):
        raise TimeTaken


async def release_session_seats(db: AsyncSession, session_id: uuid.UUID, seats: int) -> None:
    await db.execute(
        sa.update(ClassSession)
        .where(ClassSession.id == session_id)
        .values(seats_taken=ClassSession.seats_taken - seats)
        .execution_options(synchronize_session=False)
    )
