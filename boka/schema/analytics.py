"""GraphQL types of analytics: a period's figures, by bucket, service and staff member."""

from __future__ import annotations

from datetime import date

import strawberry

from boka.analytics.figures import Revenue, Tally
from boka.analytics.periods import Granularity
from boka.analytics.report import AnalyticsReport, StaffFigures
from boka.models.bookings import BookingStatus
from boka.schema.catalog import MoneyType, ServiceType, StaffMemberType

AnalyticsGranularity = strawberry.enum(Granularity, name="AnalyticsGranularity")


@strawberry.type(name="BookingCounts")
class BookingCountsType:
    total: int
    pending: int
    confirmed: int
    completed: int
    cancelled: int
    no_show: int


@strawberry.type(name="Revenue", description=(
    "Money of the bookings that start in the period, in one currency. gross: the list price of "
    "pending, confirmed and completed bookings, plus what was collected on cancelled and no-show "
    "ones; discounts: what pricing rules and codes took off; refunds: refunds not failed; "
    "net = gross - discounts - refunds."))
class RevenueType:
    gross: MoneyType
    discounts: MoneyType
    refunds: MoneyType
    net: MoneyType

    @classmethod
    def from_revenue(cls, revenue: Revenue) -> RevenueType:
        def money(amount: int) -> MoneyType:
            return MoneyType(amount=amount, currency=revenue.currency)

        return cls(gross=money(revenue.gross), discounts=money(revenue.discounts),
                   refunds=money(revenue.refunds), net=money(revenue.net))


@strawberry.type(name="AnalyticsFigures")
class FiguresType:
    bookings: BookingCountsType
    revenue: list[RevenueType] = strawberry.field(description="One entry per currency.")
    cancellation_rate: float = strawberry.field(description="Cancelled over all bookings.")
    no_show_rate: float = strawberry.field(description="No-shows over bookings not cancelled.")
    average_lead_time_hours: float | None = strawberry.field(
        description="How long before its start a booking (not cancelled) was made, on average.")

    @classmethod
    def from_tally(cls, tally: Tally) -> FiguresType:
        counts = tally.by_status
        return cls(
            bookings=BookingCountsType(
                total=tally.total, pending=counts[BookingStatus.PENDING],
                confirmed=counts[BookingStatus.CONFIRMED],
                completed=counts[BookingStatus.COMPLETED],
                cancelled=counts[BookingStatus.CANCELLED], no_show=counts[BookingStatus.NO_SHOW],
            ),
            revenue=[RevenueType.from_revenue(tally.revenue[c]) for c in sorted(tally.revenue)],
            cancellation_rate=tally.cancellation_rate, no_show_rate=tally.no_show_rate,
            average_lead_time_hours=tally.average_lead_hours,
        )


@strawberry.type(name="AnalyticsBucket")
class BucketType:
    start: date = strawberry.field(description="The first local day of the day, week or month.")
    figures: FiguresType


@strawberry.type(name="ServiceAnalytics")
class ServiceAnalyticsType:
    service: ServiceType
    figures: FiguresType


@strawberry.type(name="StaffAnalytics")
class StaffAnalyticsType:
    staff_member: StaffMemberType
    figures: FiguresType
    booked_minutes: int = strawberry.field(
        description="Appointments not cancelled, and each class session once.")
    working_minutes: int = strawberry.field(
        description="Net working time in the period: weekly hours less breaks, overrides, time off.")
    utilisation: float | None = strawberry.field(
        description="Booked over working minutes; null without working time.")

    @classmethod
    def from_figures(cls, figures: StaffFigures) -> StaffAnalyticsType:
        return cls(
            staff_member=StaffMemberType.from_model(figures.member),
            figures=FiguresType.from_tally(figures.tally),
            booked_minutes=round(figures.booked_seconds / 60),
            working_minutes=round(figures.working_seconds / 60),
            utilisation=figures.utilisation,
        )


@strawberry.type(name="Analytics", description=(
    "Figures of the bookings that start in a period of local dates in the tenant's time zone. "
    "Staff see their own; managers and owners the tenant's."))
class AnalyticsType:
    first_day: date = strawberry.field(name="from")
    last_day: date = strawberry.field(name="to")
    time_zone: str
    granularity: AnalyticsGranularity  # type: ignore[valid-type]
    whole_tenant: bool = strawberry.field(
        description="False when the figures are one staff member's.")
    totals: FiguresType
    new_customers: int = strawberry.field(
        description="Customers whose first booking (not cancelled) is in the period.")
    returning_customers: int = strawberry.field(
        description="Customers with a booking in the period who had booked before it.")
    buckets: list[BucketType]
    services: list[ServiceAnalyticsType] = strawberry.field(
        description="Services with bookings in the period, the most booked first.")
    staff: list[StaffAnalyticsType]

    @strawberry.field(description="The most booked services (not cancelled), then by bookings.")
    def top_services(self, limit: int = 5) -> list[ServiceAnalyticsType]:
        return self.services[: max(limit, 0)]

    @classmethod
    def from_report(cls, report: AnalyticsReport) -> AnalyticsType:
        period = report.period
        return cls(
            first_day=period.first_day, last_day=period.last_day, time_zone=period.zone,
            granularity=period.granularity, whole_tenant=report.whole_tenant,
            totals=FiguresType.from_tally(report.totals),
            new_customers=report.new_customers, returning_customers=report.returning_customers,
            buckets=[BucketType(start=start, figures=FiguresType.from_tally(tally))
                     for start, tally in report.buckets],
            services=[ServiceAnalyticsType(service=ServiceType.from_model(service),
                                           figures=FiguresType.from_tally(tally))
                      for service, tally in report.services],
            staff=[StaffAnalyticsType.from_figures(figures) for figures in report.staff],
        )
