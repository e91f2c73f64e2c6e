"""GraphQL types of staff members' attached calendars (busy time from Google, Outlook, iCloud)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.booking.external_calendars import visible_feeds
from boka.models.external_calendars import ExternalCalendarFeed
from boka.schema.errors import UserError
from boka.schema.transactions import resolve_visible_nodes


@strawberry.type(
    name="ExternalCalendar",
    description="A calendar a staff member attached (its secret iCalendar address); the worker "
    "polls it and its busy time is taken out of their availability. Seen by the staff member "
    "and by managers and owners.",
)
class ExternalCalendarType(relay.Node):
    id: relay.NodeID[str]
    name: str
    url_hint: str = strawberry.field(
        description="Host and last characters of the address; the address itself is a secret and never shown."
    )
    last_polled_at: datetime | None = strawberry.field(description="When the worker last tried.")
    last_success_at: datetime | None = strawberry.field(description="When a poll last succeeded (a 304 included).")
    last_error: str | None = strawberry.field(
        description="Why the last poll failed; null once one succeeds. Busy time from the last good poll stays."
    )
    last_error_at: datetime | None
    busy_block_count: int = strawberry.field(description="Busy spans stored from the last good poll.")
    created_at: datetime

    @classmethod
    def from_model(cls, feed: ExternalCalendarFeed) -> ExternalCalendarType:
        return cls(
            id=str(feed.id), name=feed.name, url_hint=feed.url_hint, last_polled_at=feed.last_polled_at,
            last_success_at=feed.last_success_at, last_error=feed.last_error,
            last_error_at=feed.last_error_at, busy_block_count=feed.busy_block_count,
            created_at=feed.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[ExternalCalendarType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_feeds, cls.from_model)


@strawberry.input
class AddExternalCalendarInput:
    staff_member_id: relay.GlobalID
    url: str = strawberry.field(
        description="The calendar's secret iCalendar address (https:// or webcal://): Google's "
        "'Secret address in iCal format', Outlook's published ICS link, iCloud's public calendar link."
    )
    name: str = ""


@strawberry.input
class ExternalCalendarIdInput:
    id: relay.GlobalID


@strawberry.type
class ExternalCalendarPayload:
    external_calendar: ExternalCalendarType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveExternalCalendarPayload:
    removed_id: relay.GlobalID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
