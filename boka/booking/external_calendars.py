"""Busy time from staff members' own calendars (issue 16 item 6).

A staff member (or a manager or owner, for anyone on the team) attaches the secret iCalendar
address Google Calendar, Outlook or iCloud publishes. The worker polls each feed every
``BOKA_CALENDAR_FEED_POLL_SECONDS`` (boka.jobs.external_calendars) and stores the busy spans it
expands to, within the tenant's longest booking advance window, in ``external_busy_blocks``;
availability and booking read them with the schedules (boka.booking.calendars), as they read
time off. A feed that fails keeps its last good spans and shows its error; it never stands in
the way of a booking. Each feed keeps the spans of its last good poll (``busy``); the staff
member's blocks are their union, merged, rebuilt when one of them changes, so availability reads
one row per busy stretch however many calendars overlap.

The address is a secret (it reads the whole calendar): sealed at rest with the SecretBox, as
webhook secrets are, and shown only as a hint (host and file name), to everyone.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import get_in_tenant, manages_catalog
from boka.booking.ics_busy import FeedError, busy_spans, fetch_feed, merge, url_hint
from boka.errors import Forbidden, NotFound
from boka.events.catalog import announce_schedule_change
from boka.events.webhook_targets import literal_private_host
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.identity.secret_box import SecretBox
from boka.models.catalog import Service, StaffMember
from boka.models.external_calendars import ExternalBusyBlock, ExternalCalendarFeed
from boka.models.types import utcnow
from boka.observability.logging import get_logger
from boka.validation import clean_text, invalid

if TYPE_CHECKING:
    from boka.runtime import Runtime

log = get_logger("boka.booking.external_calendars")
MAX_FEEDS_PER_STAFF = 10
DEFAULT_HORIZON_DAYS = 90
# Busy time that began up to this long ago still matters (a block reaches back before a slot).
LOOK_BACK = timedelta(days=1)


# --- who may manage whose feeds --------------------------------------------------------------


def _manages_all(principal: Principal) -> bool:
    return manages_catalog(principal)


async def _staff_member_for(
    db: AsyncSession, principal: Principal, staff_member_id: uuid.UUID, *, lock: bool = False
) -> StaffMember:
    """The staff member whose feeds the principal may manage: anyone's for managers and owners
    (and API keys that manage the catalogue), their own for staff; else an access error."""
    tenant = principal.require_tenant()
    if not _manages_all(principal):
        principal.authorize(Action.BOOKING_VIEW, Scope.ASSIGNED)  # team members only
        user = principal.require_user()
        member = await get_in_tenant(
            db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member", lock=lock
        )
        if member.user_id != user.id:
            raise Forbidden("Staff attach their own calendars; managers and owners anyone's.")
        return member
    return await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member", lock=lock
    )


async def _feed_for(db: AsyncSession, principal: Principal, feed_id: uuid.UUID) -> tuple[ExternalCalendarFeed, StaffMember]:
    tenant = principal.require_tenant()
    feed = (
        await db.execute(
            sa.select(ExternalCalendarFeed).where(
                ExternalCalendarFeed.id == feed_id, ExternalCalendarFeed.tenant_id == tenant.id
            )
        )
    ).scalar_one_or_none()
    if feed is None:
        raise NotFound("No calendar feed with this ID in this tenant.")
    member = await _staff_member_for(db, principal, feed.staff_member_id)
    return feed, member


# --- the address --------------------------------------------------------------------------


def check_feed_url(url: str, *, allow_private: bool) -> str:
    """A fetchable feed address; webcal:// (what "subscribe" links use) becomes https://."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("webcal", "webcals"):
        parts = parts._replace(scheme="https")
        url = urlunsplit(parts)
    if len(url) > 2000 or parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise invalid("Give the calendar's secret address: an https:// (or webcal://) URL of at most 2000 characters.", "url")
    if parts.username or parts.password:
        raise invalid("Put no user name or password in the address.", "url")
    if not allow_private and literal_private_host(url):
        raise invalid("Calendar addresses must be public.", "url")
    return url


# --- writes -------------------------------------------------------------------------------


async def add_feed(
    db: AsyncSession, principal: Principal, *, staff_member_id: uuid.UUID, url: str, name: str = "",
    box: SecretBox, allow_private: bool = False,
) -> ExternalCalendarFeed:
    member = await _staff_member_for(db, principal, staff_member_id, lock=True)
    url = check_feed_url(url, allow_private=allow_private)
    name = clean_text(name, "name", max_length=200, min_length=0)
    existing = (
        await db.execute(
            sa.select(sa.func.count()).select_from(ExternalCalendarFeed).where(
                ExternalCalendarFeed.staff_member_id == member.id
            )
        )
    ).scalar_one()
    if existing >= MAX_FEEDS_PER_STAFF:
        raise invalid(f"A staff member attaches at most {MAX_FEEDS_PER_STAFF} calendars.", "url")
    feed = ExternalCalendarFeed(
        tenant_id=member.tenant_id, staff_member_id=member.id, name=name, url=box.seal(url),
        url_hint=url_hint(url),
    )
    db.add(feed)
    await db.flush()
    return feed


async def remove_feed(db: AsyncSession, principal: Principal, feed_id: uuid.UUID) -> uuid.UUID:
    feed, member = await _feed_for(db, principal, feed_id)
    had_blocks = feed.busy_block_count > 0
    await db.delete(feed)
    await db.flush()
    if had_blocks:  # the staff member's busy time without this calendar's
        await rebuild_staff_busy(db, member)
        await announce_schedule_change(db, member, "external_busy")
    return feed_id


async def feed_to_refresh(db: AsyncSession, principal: Principal, feed_id: uuid.UUID) -> ExternalCalendarFeed:
    """The feed, if the principal may ask for it to be polled now."""
    feed, _ = await _feed_for(db, principal, feed_id)
    return feed


# --- reads --------------------------------------------------------------------------------


async def feeds_of_staff(
    db: AsyncSession, principal: Principal, staff_member_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ExternalCalendarFeed]]:
    """The feeds of each staff member the principal may see them for (their own; anyone's for
    managers and owners); nothing for anyone else."""
    tenant = principal.require_tenant()
    statement = sa.select(ExternalCalendarFeed).where(
        ExternalCalendarFeed.staff_member_id.in_(staff_member_ids),
        ExternalCalendarFeed.tenant_id == tenant.id,
    )
    if not _manages_all(principal):
        if principal.user is None:
            return {}
        own = sa.select(StaffMember.id).where(
            StaffMember.tenant_id == tenant.id, StaffMember.user_id == principal.user.id
        )
        statement = statement.where(ExternalCalendarFeed.staff_member_id.in_(own))
    found: dict[uuid.UUID, list[ExternalCalendarFeed]] = {}
    rows = await db.execute(statement.order_by(ExternalCalendarFeed.created_at, ExternalCalendarFeed.id))
    for feed in rows.scalars():
        found.setdefault(feed.staff_member_id, []).append(feed)
    return found


async def visible_feeds(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, ExternalCalendarFeed]:
    tenant = principal.require_tenant()
    statement = sa.select(ExternalCalendarFeed).where(
        ExternalCalendarFeed.id.in_(ids), ExternalCalendarFeed.tenant_id == tenant.id
    )
    if not _manages_all(principal):
        if principal.user is None:
            return {}
        own = sa.select(StaffMember.id).where(
            StaffMember.tenant_id == tenant.id, StaffMember.user_id == principal.user.id
        )
        statement = statement.where(ExternalCalendarFeed.staff_member_id.in_(own))
    return {feed.id: feed for feed in (await db.execute(statement)).scalars()}


# --- polling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollOutcome:
    status: str  # "updated", "unchanged", "not_modified", "failed", "gone"
    blocks: int = 0
    error: str | None = None


async def due_feeds(db: AsyncSession, *, now: datetime, every: timedelta) -> list[tuple[uuid.UUID, datetime | None]]:
    """Feeds (of every tenant) not polled for ``every``: (id, when last polled)."""
    rows = await db.execute(
        sa.select(ExternalCalendarFeed.id, ExternalCalendarFeed.last_polled_at).where(
            sa.or_(
                ExternalCalendarFeed.last_polled_at.is_(None),
                ExternalCalendarFeed.last_polled_at <= now - every,
            )
        )
    )
    return [(feed_id, polled) for feed_id, polled in rows.all()]


async def _horizon_days(db: AsyncSession, tenant_id: uuid.UUID, cap: int) -> int:
    longest = (
        await db.execute(
            sa.select(sa.func.max(Service.max_advance_days)).where(Service.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    return max(1, min(cap, (longest or DEFAULT_HORIZON_DAYS) + 1))


async def poll_feed(runtime: Runtime, feed_id: uuid.UUID) -> PollOutcome:
    """Fetch one feed and store the busy blocks it now has; a failure is recorded on the feed
    (its blocks stay as the last good poll left them) and never raised."""
    settings = runtime.settings
    async with runtime.database.transaction(all_tenants=True) as db:
        found = (
            await db.execute(
                sa.select(ExternalCalendarFeed, StaffMember.time_zone)
                .join(StaffMember, StaffMember.id == ExternalCalendarFeed.staff_member_id)
                .where(ExternalCalendarFeed.id == feed_id)
            )
        ).first()
        if found is None:
            return PollOutcome("gone")
        feed, time_zone = found
        tenant_id, sealed, etag, last_modified = feed.tenant_id, feed.url, feed.etag, feed.last_modified
        days = await _horizon_days(db, tenant_id, settings.calendar_feed_max_horizon_days)
    now = utcnow()
    start, end = now - LOOK_BACK, now + timedelta(days=days)
    try:
        url = runtime.secret_box.open(sealed)
        fetched = await fetch_feed(
            url, etag=etag, last_modified=last_modified,
            timeout=settings.calendar_feed_timeout_seconds, max_bytes=settings.calendar_feed_max_bytes,
            allow_private=settings.webhook_allow_private_targets,
        )
        spans = None
        if fetched.body is not None:
            spans = await asyncio.to_thread(
                busy_spans, fetched.body, zone=ZoneInfo(time_zone), start=start, end=end
            )
    except FeedError as error:
        await _record_failure(runtime, tenant_id, feed_id, str(error), now)
        log.info("calendar feed poll failed", feed_id=str(feed_id), error=str(error))
        return PollOutcome("failed", error=str(error))
    return await _store(runtime, tenant_id, feed_id, spans, fetched.etag, fetched.last_modified, now)


async def _record_failure(
    runtime: Runtime, tenant_id: uuid.UUID, feed_id: uuid.UUID, error: str, now: datetime
) -> None:
    async with runtime.database.transaction(tenant_id, write=True) as db:
        await db.execute(
            sa.update(ExternalCalendarFeed)
            .where(ExternalCalendarFeed.id == feed_id)
            .values(last_polled_at=now, last_error=error[:500], last_error_at=now)
        )


def _as_seconds(spans: list[tuple[datetime, datetime]]) -> list[list[int]]:
    return [[int(first.timestamp()), int(last.timestamp())] for first, last in spans]


async def rebuild_staff_busy(db: AsyncSession, member: StaffMember) -> int:
    """Replace the staff member's busy blocks by the union of their calendars' spans (the row
    lock on the staff member makes concurrent rebuilds take turns); the number of blocks."""
    await db.execute(sa.select(StaffMember.id).where(StaffMember.id == member.id).with_for_update())
    spans = [
        (datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC))
        for busy in (
            await db.execute(
                sa.select(ExternalCalendarFeed.busy).where(ExternalCalendarFeed.staff_member_id == member.id)
            )
        ).scalars()
        for first, last in busy
    ]
    merged = merge(spans)
    await db.execute(sa.delete(ExternalBusyBlock).where(ExternalBusyBlock.staff_member_id == member.id))
    if merged:
        await db.execute(
            sa.insert(ExternalBusyBlock),
            [
                {"id": uuid.uuid4(), "tenant_id": member.tenant_id, "staff_member_id": member.id,
                 "starts_at": first, "ends_at": last}
                for first, last in merged
            ],
        )
    return len(merged)


async def _store(
    runtime: Runtime, tenant_id: uuid.UUID, feed_id: uuid.UUID,
    spans: list[tuple[datetime, datetime]] | None, etag: str | None, last_modified: str | None,
    now: datetime,
) -> PollOutcome:
    async with runtime.database.transaction(tenant_id, write=True) as db:
        feed = (
            await db.execute(
                sa.select(ExternalCalendarFeed).where(ExternalCalendarFeed.id == feed_id).with_for_update()
            )
        ).scalar_one_or_none()
        if feed is None:
            return PollOutcome("gone")
        feed.last_polled_at = now
        feed.last_success_at = now
        feed.last_error = None
        feed.last_error_at = None
        if spans is None:  # 304 Not Modified
            await db.flush()
            return PollOutcome("not_modified", blocks=feed.busy_block_count)
        feed.etag = etag[:500] if etag else None
        feed.last_modified = last_modified[:100] if last_modified else None
        busy = _as_seconds(spans)
        if busy == feed.busy:
            await db.flush()
            return PollOutcome("unchanged", blocks=len(busy))
        feed.busy = busy
        feed.busy_block_count = len(busy)
        await db.flush()
        member = await get_in_tenant(
            db, StaffMember, feed.staff_member_id, tenant_id=tenant_id, label="staff member"
        )
        await rebuild_staff_busy(db, member)
        await announce_schedule_change(db, member, "external_busy")
    return PollOutcome("updated", blocks=len(busy))
