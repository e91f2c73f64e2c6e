"""A booking series with its money: each occurrence is booked, cancelled or moved exactly as a
single booking is (``book_with_payment``, ``cancel_booking`` + ``settle_cancellation``,
``reschedule_booking`` + ``settle_reschedule``), so each has its own price, payment, policy
and refund. The series logic itself is boka/booking/series.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.changes import BookingRef, Rescheduled, cancel_booking, reschedule_booking
from boka.booking.engine import BookingRequest
from boka.booking.lifecycle import CancellationTerms
from boka.booking.series import (
    BookedSeries,
    SeriesMode,
    SeriesRequest,
    book_series,
    cancel_series,
    reschedule_series,
)
from boka.identity.principal import Principal
from boka.models.bookings import Booking
from boka.models.series import BookingSeries
from boka.payments.checkout import Checkout, book_with_payment
from boka.payments.providers import PaymentProvider
from boka.payments.refunds import CancellationMoney, settle_cancellation
from boka.payments.reschedules import RescheduleMoney, settle_reschedule

Cancelled = tuple[Booking, CancellationTerms, CancellationMoney]
Moved = tuple[Rescheduled, RescheduleMoney]


async def book_series_with_payment(
    db: AsyncSession, principal: Principal, request: SeriesRequest, *, mode: SeriesMode,
    provider: PaymentProvider, hold: timedelta, now: datetime,
) -> BookedSeries[tuple[Booking, Checkout | None]]:
    """Each occurrence as createBooking makes it: paid up front (a payment of its own, to pay
    before the hold expires) when the service's policy says so."""

    async def book(occurrence: BookingRequest) -> tuple[Booking, Checkout | None]:
        return await book_with_payment(
            db, principal, occurrence, provider=provider, hold=hold, now=now
        )

    return await book_series(db, principal, request, mode=mode, book=book, now=now)


async def cancel_series_with_refunds(
    db: AsyncSession, principal: Principal, series_id: uuid.UUID, *,
    from_booking_id: uuid.UUID | None, reason: str, now: datetime,
) -> tuple[BookingSeries, list[Cancelled]]:
    """Each occurrence cancelled as cancelBooking cancels it: the service's policy decides its
    refund, by its own start."""

    async def cancel(booking: Booking) -> Cancelled:
        cancelled, terms = await cancel_booking(
            db, principal, BookingRef(booking.id), reason=reason, now=now
        )
        return cancelled, terms, await settle_cancellation(db, cancelled, terms, now=now)

    return await cancel_series(
        db, principal, series_id, from_booking_id=from_booking_id, cancel=cancel, now=now
    )


async def reschedule_series_with_money(
    db: AsyncSession, principal: Principal, series_id: uuid.UUID, *,
    from_booking_id: uuid.UUID | None, start: datetime, override_policy: bool, now: datetime,
    provider: PaymentProvider,
) -> tuple[BookingSeries, list[Moved]]:
    """Each occurrence moved as rescheduleBooking moves it (same staff member): the policy of
    its own start, its price quoted again, money paid settled against it (a dearer prepaid
    occurrence asks its difference as a top-up, payable until it starts, then due on site)."""

    async def move(booking: Booking, new_start: datetime) -> Moved:
        moved = await reschedule_booking(
            db, principal, BookingRef(booking.id), start=new_start, staff_id=None, now=now,
            override_policy=override_policy,
        )
        return moved, await settle_reschedule(db, moved.booking, provider=provider, now=now)

    return await reschedule_series(
        db, principal, series_id, from_booking_id=from_booking_id, start=start, move=move, now=now,
    )
