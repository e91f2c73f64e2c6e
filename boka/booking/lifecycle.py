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
    """What the policy gives back of the money actually paid. Nothing paid, nothing back:
    the terms say the share, ``refund_of`` turns a paid amount into the refund."""

    refund_percent: int  # share of what was paid (less kept fees) that goes back
    kept_fee_cents: int  # fees of late moves (policies.LateReschedule.FEE), kept in any case
    free: bool

    def refund_of(self, paid_cents: int) -> int:
        """Integer arithmetic, rounded down in the business's favour."""
        return max(paid_cents - self.kept_fee_cents, 0) * self.refund_percent // 100


def cancellation_terms(
    service: Service, *, start: datetime, now: datetime, kept_fee_cents: int = 0
) -> CancellationTerms:
    """Free (full refund, less the fees of late moves) until ``free_cancel_hours`` before the
    start; after that the service's late-cancellation refund share. A booking moved late for
    a fee keeps that fee even when it is cancelled far ahead of its new start, so moving and
    then cancelling never costs less than cancelling late straight away."""
    free = now <= start - timedelta(hours=service.free_cancel_hours)
    percent = 100 if free else service.late_cancel_refund_percent
    return CancellationTerms(refund_percent=percent, kept_fee_cents=kept_fee_cents, free=free)
