"""Jobs: polling staff members' calendar feeds (busy time from Google, Outlook, iCloud).

``sweep_calendar_feeds`` (a recurring chain of boka.jobs.scheduled, every minute) enqueues a
poll for every feed not polled for ``BOKA_CALENDAR_FEED_POLL_SECONDS``; the job id names the
feed and its last poll, so sweeps that overlap enqueue each due poll once. A poll records its
own failure on the feed and does not raise (the next due time is the retry).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from boka.booking.external_calendars import due_feeds, poll_feed
from boka.jobs.context import job_runtime
from boka.jobs.queues import EnqueuedJob
from boka.models.types import utcnow
from boka.runtime import Runtime


async def poll_calendar_feed(feed_id: str) -> str:
    async with job_runtime() as runtime:
        outcome = await poll_feed(runtime, uuid.UUID(feed_id))
        return outcome.status


async def enqueue_poll(
    runtime: Runtime, feed_id: uuid.UUID, *, last_polled_at: datetime | None = None, now: bool = False
) -> EnqueuedJob:
    """A poll of the feed: the one due after ``last_polled_at``, or (``now``) one asked for by
    hand, at most one a second."""
    mark = f"now-{int(utcnow().timestamp())}" if now else (
        str(int(last_polled_at.timestamp())) if last_polled_at else "first"
    )
    return await runtime.jobs.enqueue(
        poll_calendar_feed, str(feed_id), queue="default", job_id=f"calendar-feed-{feed_id}-{mark}"
    )


async def enqueue_due_polls(runtime: Runtime) -> int:
    every = timedelta(seconds=runtime.settings.calendar_feed_poll_seconds)
    async with runtime.database.transaction(all_tenants=True) as db:
        due = await due_feeds(db, now=utcnow(), every=every)
    enqueued = 0
    for feed_id, last_polled_at in due:
        job = await enqueue_poll(runtime, feed_id, last_polled_at=last_polled_at)
        enqueued += not job.duplicate
    return enqueued
