"""The figures analytics reports, added up from the SQL groups: bookings by status, revenue by
currency, booked time and lead time. Pure arithmetic, no I/O.

Revenue counts each booking by when it starts:
- a pending, confirmed or completed booking brings its list price (gross); what pricing rules
  and a discount code took off it is ``discounts``;
- a cancelled or no-show booking brings what was collected on it (a payment up front, a no-show
  fee), with no discount;
- ``refunds`` is every refund (not failed) of the period's bookings;
- net = gross - discounts - refunds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from boka.analytics.queries import COLLECTED_ONLY, BookingGroup, MoneyGroup
from boka.models.bookings import BookingStatus


@dataclass
class Revenue:
    currency: str
    gross: int = 0
    discounts: int = 0
    refunds: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.discounts - self.refunds


@dataclass
class Tally:
    """Figures of some bookings (a bucket's, a service's, a staff member's, all of them)."""

    by_status: Counter[BookingStatus] = field(default_factory=Counter)
    revenue: dict[str, Revenue] = field(default_factory=dict)
    booked_seconds: float = 0.0  # appointments not cancelled (class sessions: see the staff)
    lead_seconds: float = 0.0
    lead_count: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def booked(self) -> int:
        """Bookings not cancelled."""
        return self.total - self.by_status[BookingStatus.CANCELLED]

    @property
    def cancellation_rate(self) -> float:
        """Cancelled bookings over all bookings."""
        return _ratio(self.by_status[BookingStatus.CANCELLED], self.total)

    @property
    def no_show_rate(self) -> float:
        """No-shows over the bookings that were not cancelled."""
        return _ratio(self.by_status[BookingStatus.NO_SHOW], self.booked)

    @property
    def average_lead_hours(self) -> float | None:
        """How long before the start, on average, bookings (not cancelled) were made."""
        return None if not self.lead_count else self.lead_seconds / self.lead_count / 3600

    def revenue_in(self, currency: str) -> Revenue:
        if currency not in self.revenue:
            self.revenue[currency] = Revenue(currency)
        return self.revenue[currency]

    def add_bookings(self, group: BookingGroup) -> None:
        self.by_status[group.status] += group.count
        revenue = self.revenue_in(group.currency)  # an entry, even of zeros, per currency booked
        if group.status not in COLLECTED_ONLY:
            revenue.gross += group.list_cents
            revenue.discounts += group.list_cents - group.charged_cents
        if group.status is not BookingStatus.CANCELLED:
            self.booked_seconds += group.private_seconds
            self.lead_seconds += group.lead_seconds
            self.lead_count += group.count

    def add_money(self, group: MoneyGroup) -> None:
        revenue = self.revenue_in(group.currency)
        revenue.gross += group.collected_cents
        revenue.refunds += group.refunded_cents


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
