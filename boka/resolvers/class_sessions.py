"""Resolvers for class sessions: the timetable of group services, and scheduling, moving and
cancelling sessions. Thin: decode the input → ``boka.booking.class_sessions`` → types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from boka.booking import class_sessions
from boka.booking.availability import TimeRange
from boka.booking.timetables import WeeklyTimetable
from boka.errors import InvalidRequest, UserInputError
from boka.identity.principal import Principal
from boka.models.bookings import Booking
from boka.models.types import utcnow
from boka.payments.refunds import CancellationMoney, settle_cancellation
from boka.payments.reschedules import RescheduleMoney, settle_session_move
from boka.resolvers.booking import aware
from boka.resolvers.context import Info
from boka.resolvers.payments import after_cancellation, after_reschedule
from boka.schema.booking import BookingType
from boka.schema.catalog import MoneyType
from boka.schema.class_sessions import (
    CancelClassSessionInput,
    CancelClassSessionPayload,
    CancelledClassBooking,
    ClassSessionPayload,
    ClassSessionType,
    ClassTimetablePayload,
    CreateClassSessionInput,
    CreateClassTimetableInput,
    MovedClassBooking,
    UpdateClassSessionInput,
)
from boka.schema.ids import optional_row_id, row_id
from boka.schema.payments import PaymentType
from boka.schema.transactions import read, write


def _plan(input: CreateClassSessionInput | CreateClassTimetableInput) -> class_sessions.SessionPlan:
    return class_sessions.SessionPlan(
        service_id=row_id(input.service_id, "Service", "serviceId"),
        staff_id=row_id(input.staff_id, "StaffMember", "staffId"),
        resource_id=optional_row_id(input.room_id, "Resource", "roomId"),
        capacity=input.capacity,
    )


async def class_sessions_query(
    info: Info,
    from_: Annotated[datetime, strawberry.argument(name="from")],
    to: datetime,
    service_id: relay.GlobalID | None = None,
    staff_id: relay.GlobalID | None = None,
) -> list[ClassSessionType]:
    """Class sessions starting in [from, to) (at most 62 days), scheduled and cancelled, by
    start; of one service or instructor if given."""
    try:
        window = TimeRange(aware(from_, "from"), aware(to, "to"))
        service_row_id = optional_row_id(service_id, "Service", "serviceId")
        staff_row_id = optional_row_id(staff_id, "StaffMember", "staffId")
    except (UserInputError, ValueError) as error:
        raise InvalidRequest(getattr(error, "message", None) or "'from' must be before 'to'.") from error
    sessions = await read(info, lambda db, principal: class_sessions.class_sessions_in(
        db, principal, window=window, service_id=service_row_id, staff_id=staff_row_id,
    ))
    return [ClassSessionType.from_model(session) for session in sessions]


async def create_class_session(info: Info, input: CreateClassSessionInput) -> ClassSessionPayload:
    """Schedule one session of a group service. Managers and owners."""
    session, errors = await write(info, lambda db, principal: class_sessions.create_class_session(
        db, principal, _plan(input), start=aware(input.start, "start"), now=utcnow(),
    ))
    return ClassSessionPayload(
        class_session=ClassSessionType.from_model(session) if session else None, errors=errors
    )


async def create_class_timetable(info: Info, input: CreateClassTimetableInput) -> ClassTimetablePayload:
    """Schedule a session on each of the weekdays at the local time (tenant's zone, DST-correct)
    from one date until another: all of them, or none. Managers and owners."""
    timetable = WeeklyTimetable(
        weekdays=frozenset(input.weekdays), local_time=input.local_time,
        first_day=input.from_date, last_day=input.until_date,
    )
    sessions, errors = await write(info, lambda db, principal: class_sessions.create_class_timetable(
        db, principal, _plan(input), timetable, now=utcnow(),
    ))
    return ClassTimetablePayload(
        class_sessions=[ClassSessionType.from_model(s) for s in sessions or []], errors=errors
    )


async def update_class_session(info: Info, input: UpdateClassSessionInput) -> ClassSessionPayload:
    """Move a session, change its instructor, room or capacity; its bookings stay with it."""
    async def work(db: AsyncSession, principal: Principal):  # type: ignore[no-untyped-def]
        change = class_sessions.SessionChange(
            start=aware(input.start, "start") if input.start else None,
            staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"),
            resource_id=optional_row_id(input.room_id, "Resource", "roomId"),
            remove_room=input.remove_room, capacity=input.capacity,
        )
        now = utcnow()
        session, moved = await class_sessions.update_class_session(
            db, principal, row_id(input.id, "ClassSession", "id"), change, now=now
        )
        settled = [
            (each, await settle_session_move(
                db, each.booking, each.previous_price_cents,
                provider=info.context.runtime.payment_provider, now=now,
            ))
            for each in moved
        ]
        return session, settled

    done, errors = await write(info, work)
    if done is None:
        return ClassSessionPayload(errors=errors)
    session, settled = done
    for _, money in settled:
        await after_reschedule(info.context.runtime, money)
    return ClassSessionPayload(
        class_session=ClassSessionType.from_model(session),
        moved_bookings=[_moved(each, money) for each, money in settled],
    )


def _moved(each: class_sessions.MovedBooking, money: RescheduleMoney) -> MovedClassBooking:
    booking = each.booking

    def money_of(amount: int) -> MoneyType:
        return MoneyType(amount=amount, currency=booking.currency)

    return MovedClassBooking(
        booking=BookingType.from_model(booking),
        previous_price=money_of(each.previous_price_cents), price=money_of(booking.price_cents),
        refund=money_of(money.refund_cents), balance_due=money_of(money.balance_due_cents),
        top_up=PaymentType.from_model(money.top_up.payment, money.top_up.client_secret)
        if money.top_up else None,
    )


async def cancel_class_session(info: Info, input: CancelClassSessionInput) -> CancelClassSessionPayload:
    """Cancel a session and all its bookings (each cancelled as cancelBooking does, with its
    messages and events, and refunded in full)."""
    async def work(db: AsyncSession, principal: Principal):  # type: ignore[no-untyped-def]
        now = utcnow()
        session, cancelled = await class_sessions.cancel_class_session(
            db, principal, row_id(input.id, "ClassSession", "id"), reason=input.reason, now=now
        )
        settled: list[tuple[Booking, CancellationMoney]] = []
        for booking, terms in cancelled:
            settled.append((booking, await settle_cancellation(db, booking, terms, now=now)))
        return session, settled

    done, errors = await write(info, work)
    if done is None:
        return CancelClassSessionPayload(errors=errors)
    session, settled = done
    for _, money in settled:
        await after_cancellation(info.context.runtime, money)
    return CancelClassSessionPayload(
        class_session=ClassSessionType.from_model(session),
        cancelled_bookings=[
            CancelledClassBooking(
                booking=BookingType.from_model(booking),
                refund=MoneyType(amount=money.refund_cents, currency=booking.currency),
            )
            for booking, money in settled
        ],
    )


@strawberry.type
class ClassSessionQuery:
    class_sessions: list[ClassSessionType] = strawberry.field(resolver=class_sessions_query)


@strawberry.type
class ClassSessionMutation:
    create_class_session: ClassSessionPayload = strawberry.field(resolver=create_class_session)
    create_class_timetable: ClassTimetablePayload = strawberry.field(resolver=create_class_timetable)
    update_class_session: ClassSessionPayload = strawberry.field(resolver=update_class_session)
    cancel_class_session: CancelClassSessionPayload = strawberry.field(resolver=cancel_class_session)
