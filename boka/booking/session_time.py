"""Time that class sessions and appointments take from one another.

The bookings table's exclusion constraint keeps appointments of one staff member apart, and
class_sessions' keeps sessions apart; a session and an appointment live in different tables, so
no single constraint sees both. Instead every claim on a staff member's (or room's) time queues
on the same transaction-level advisory locks (PostgreSQL; SQLite has one writer) and then checks
the other table: whoever comes second sees the first one's committed row. A conflict found
inside a claim raises :class:`TimeTaken`, which ``claim_time`` answers as a lost race.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.refusals import RefusalReason
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingResource
from boka.models.sessions import ClassSession, ClassSessionStatus

Block = tuple[datetime, datetime]


class TimeTaken(Exception):
    """Raised inside a claim: something else holds this time (or the session went away)."""


async def queue_for_time(db: AsyncSession, holder: str, block: Block) -> None:
    """Wait for any other transaction claiming ``holder``'s time (``staff:<id>`` or
    ``resource:<id>``) on the same UTC days (PostgreSQL only). Locks are taken in date order
    and held until commit or rollback."""
    if db.bind.dialect.name != "postgresql":
        return
    start, end = (moment.astimezone(UTC).date() for moment in block)
    day = start
    while day <= end:
        await db.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"boka:{holder}-time:{day.isoformat()}"},
        )
        day += timedelta(days=1)


def _overlapping_sessions(block: Block, own_session: uuid.UUID | None) -> sa.Select[tuple[int]]:
    statement = sa.select(sa.literal(1)).select_from(ClassSession).where(
        ClassSession.status == ClassSessionStatus.SCHEDULED.value,
        ClassSession.block_start < block[1],
        ClassSession.block_end > block[0],
    )
    if own_session is not None:
        statement = statement.where(ClassSession.id != own_session)
    return statement.limit(1)


async def _session_holds_staff(
    db: AsyncSession, staff_id: uuid.UUID, block: Block, own_session: uuid.UUID | None
) -> bool:
    statement = _overlapping_sessions(block, own_session).where(ClassSession.staff_id == staff_id)
    return (await db.execute(statement)).first() is not None


async def _session_holds_room(
    db: AsyncSession, resource_id: uuid.UUID, block: Block, own_session: uuid.UUID | None
) -> bool:
    statement = _overlapping_sessions(block, own_session).where(ClassSession.resource_id == resource_id)
    return (await db.execute(statement)).first() is not None


async def _booking_holds_staff(
    db: AsyncSession, staff_id: uuid.UUID, block: Block, slot_key: str
) -> bool:
    statement = sa.select(sa.literal(1)).select_from(Booking).where(
        Booking.staff_id == staff_id,
        Booking.status.in_(ACTIVE_STATUSES),
        Booking.block_start < block[1],
        Booking.block_end > block[0],
        Booking.slot_key != slot_key,
    ).limit(1)
    return (await db.execute(statement)).first() is not None


async def _booking_holds_room(
    db: AsyncSession, resource_id: uuid.UUID, block: Block, slot_key: str
) -> bool:
    statement = sa.select(sa.literal(1)).select_from(BookingResource).where(
        BookingResource.resource_id == resource_id,
        BookingResource.active.is_(True),
        BookingResource.block_start < block[1],
        BookingResource.block_end > block[0],
        BookingResource.slot_key != slot_key,
    ).limit(1)
    return (await db.execute(statement)).first() is not None


async def refuse_if_session_holds_staff(
    db: AsyncSession, staff_id: uuid.UUID, block: Block, *, own_session: uuid.UUID | None
) -> None:
    """TimeTaken if a scheduled session (other than ``own_session``) of this instructor overlaps."""
    if await _session_holds_staff(db, staff_id, block, own_session):
        raise TimeTaken


async def refuse_if_session_holds_room(
    db: AsyncSession, resource_id: uuid.UUID, block: Block, *, own_session: uuid.UUID | None
) -> None:
    """TimeTaken if a scheduled session (other than ``own_session``) in this room overlaps."""
    if await _session_holds_room(db, resource_id, block, own_session):
        raise TimeTaken


async def refuse_if_booked(
    db: AsyncSession, *, staff_id: uuid.UUID, resource_id: uuid.UUID | None, block: Block,
    slot_key: str,
) -> None:
    """TimeTaken if an active booking of this staff member, or a booking holding this room,
    overlaps ``block``, other than the session's own (``slot_key``)."""
    if await _booking_holds_staff(db, staff_id, block, slot_key):
        raise TimeTaken
    if resource_id is not None and await _booking_holds_room(db, resource_id, block, slot_key):
        raise TimeTaken


async def what_holds_session_time(
    db: AsyncSession, *, staff_id: uuid.UUID, resource_id: uuid.UUID | None, block: Block,
    own_session: uuid.UUID | None, slot_key: str,
) -> tuple[RefusalReason, ...]:
    """Why a class session cannot have ``block`` (after its claim failed), by the claim's own
    checks: BOOKED if the instructor's other sessions or appointments hold the time,
    RESOURCE_BUSY if the room's do; BOOKED if neither shows yet (a racing claim not committed)."""
    reasons = []
    if await _session_holds_staff(db, staff_id, block, own_session) or await _booking_holds_staff(
        db, staff_id, block, slot_key
    ):
        reasons.append(RefusalReason.BOOKED)
    if resource_id is not None and (
        await _session_holds_room(db, resource_id, block, own_session)
        or await _booking_holds_room(db, resource_id, block, slot_key)
    ):
        reasons.append(RefusalReason.RESOURCE_BUSY)
    return tuple(reasons) or (RefusalReason.BOOKED,)
