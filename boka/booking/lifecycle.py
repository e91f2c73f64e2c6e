"""The booking status lifecycle and the cancellation policy, as pure rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from boka.errors import UserErrorCode, UserInputError
from boka.models.bookings import BookingStatus
from boka.models.catalog import Service

# pending → confirmed → completed, plus cancelled and no_show.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED}),
    BookingStatus.CONFIRMED: frozenset(
        {BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.NO_SHOW}
    ),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}


def check_transition(current: BookingStatus, target: BookingStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION,
            f"A {current.value} booking cannot become {target.value}.",
        )


@dataclass(frozen=True)
class CancellationTerms:
    refund_percent: int  # share of what was paid that goes back to the customer
    refund_cents: int
    free: bool


def cancellation_terms(
    service: Service, *, price_cents: int, start: datetime, now: datetime
) -> CancellationTerms:
    """Free (full refund) until ``free_cancel_hours`` before the start; after that the
    service's late-cancellation refund share. Integer arithmetic, rounded down in the
    business's favour."""
    free = now <= start - timedelta(hours=service.free_cancel_hours)
    percent = 100 if free else service.late_cancel_refund_percent
    return CancellationTerms(
        refund_percent=percent, refund_cents=price_cents * percent // 100, free=free
    )
