"""Resolvers for staff members' attached calendars. Thin: decode the input →
``boka.booking.external_calendars`` → types; the first poll is enqueued after the commit."""

from __future__ import annotations

import strawberry
from strawberry import relay

from boka.booking import external_calendars
from boka.jobs.external_calendars import enqueue_poll
from boka.resolvers.context import Info
from boka.schema.external_calendars import (
    AddExternalCalendarInput,
    ExternalCalendarIdInput,
    ExternalCalendarPayload,
    ExternalCalendarType,
    RemoveExternalCalendarPayload,
)
from boka.schema.ids import row_id
from boka.schema.rate_limits import admin_limited
from boka.schema.transactions import write


async def add_external_calendar(info: Info, input: AddExternalCalendarInput) -> ExternalCalendarPayload:
    runtime = info.context.runtime
    feed, errors = await write(info, lambda db, p: external_calendars.add_feed(
        db, p, staff_member_id=row_id(input.staff_member_id, "StaffMember", "staffMemberId"),
        url=input.url, name=input.name, box=runtime.secret_box,
        allow_private=runtime.settings.webhook_allow_private_targets))
    if feed is None:
        return ExternalCalendarPayload(errors=errors)
    await enqueue_poll(runtime, feed.id)
    return ExternalCalendarPayload(external_calendar=ExternalCalendarType.from_model(feed))


async def remove_external_calendar(info: Info, input: ExternalCalendarIdInput) -> RemoveExternalCalendarPayload:
    removed, errors = await write(info, lambda db, p: external_calendars.remove_feed(
        db, p, row_id(input.id, "ExternalCalendar", "id")))
    removed_id = relay.GlobalID("ExternalCalendar", str(removed)) if removed else None
    return RemoveExternalCalendarPayload(removed_id=removed_id, errors=errors)


async def refresh_external_calendar(info: Info, input: ExternalCalendarIdInput) -> ExternalCalendarPayload:
    """Poll the calendar now rather than at its next due time (the result shows on the
    calendar's fields once the worker has run it)."""
    feed, errors = await write(info, lambda db, p: external_calendars.feed_to_refresh(
        db, p, row_id(input.id, "ExternalCalendar", "id")))
    if feed is None:
        return ExternalCalendarPayload(errors=errors)
    await enqueue_poll(info.context.runtime, feed.id, now=True)
    return ExternalCalendarPayload(external_calendar=ExternalCalendarType.from_model(feed))


@strawberry.type
class ExternalCalendarMutation:
    add_external_calendar: ExternalCalendarPayload = strawberry.field(
        resolver=add_external_calendar, extensions=admin_limited())
    remove_external_calendar: RemoveExternalCalendarPayload = strawberry.field(
        resolver=remove_external_calendar, extensions=admin_limited())
    refresh_external_calendar: ExternalCalendarPayload = strawberry.field(
        resolver=refresh_external_calendar, extensions=admin_limited())
