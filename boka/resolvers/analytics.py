"""The analytics query. Thin: arguments → period and reach → report → type."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry import relay

from boka.analytics.periods import Granularity, Period
from boka.analytics.report import analytics_report, reach_of
from boka.errors import InvalidRequest, UserInputError
from boka.resolvers.context import Info
from boka.schema.analytics import AnalyticsGranularity, AnalyticsType
from boka.schema.ids import optional_row_id


async def analytics(
    info: Info,
    from_: Annotated[date, strawberry.argument(name="from")],
    to: date,
    granularity: AnalyticsGranularity = Granularity.DAY,  # type: ignore[valid-type]
    staff_id: relay.GlobalID | None = None,
) -> AnalyticsType:
    """Bookings, revenue, rates, utilisation, lead time and customers for the local dates
    ``from`` to ``to`` (both included, at most 400 days) in the tenant's time zone, by day, week
    or month. Staff see their own figures; managers and owners the tenant's, or one staff
    member's with ``staffId``."""
    principal = info.context.principal
    tenant = principal.require_tenant()
    period = Period.of(from_, to, tenant.time_zone, Granularity(granularity))
    try:
        staff_row_id = optional_row_id(staff_id, "StaffMember", "staffId")
    except UserInputError as error:
        raise InvalidRequest(error.message) from error
    async with info.context.read_transaction(tenant.id) as db:
        reach = await reach_of(db, principal, staff_row_id)
        report = await analytics_report(db, reach, period)
    return AnalyticsType.from_report(report)


@strawberry.type
class AnalyticsQuery:
    analytics: AnalyticsType = strawberry.field(resolver=analytics)
