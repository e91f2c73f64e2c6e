"""Fetching a calendar feed and turning it into busy spans.

Fetching: a GET with the validators of the last 200 (If-None-Match / If-Modified-Since; a 304
means nothing changed), redirects followed by hand (at most 5, each target checked like a
webhook's: no private addresses unless BOKA_WEBHOOK_ALLOW_PRIVATE_TARGETS), one deadline for
the whole fetch (a server dripping bytes cannot hold a worker) and a size cap read as the body
streams in. Error messages never carry the address (it is a secret).

Expanding: ``icalendar`` parses, ``x-wr-timezone`` gives floating times of a calendar that names
its zone (Google's X-WR-TIMEZONE) that zone, and ``recurring-ical-events`` expands RRULE/RDATE
less EXDATE with RECURRENCE-ID overrides applied. Transparent ("show as free") and cancelled
events are not busy; all-day events block their whole local days and floating times are read in
the staff member's zone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from boka.events.webhook_targets import refused_target

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_OCCURRENCES = 50_000
USER_AGENT = "Boka-Calendar-Sync/1"


class FeedError(Exception):
    """Why this poll of a feed failed, fit to show to whoever manages the feed."""


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: 304, nothing changed since the validators
    etag: str | None
    last_modified: str | None


def url_hint(url: str) -> str:
    """What may be shown of a feed's address: scheme, host and its file name (Google's ends in
    basic.ics, Outlook's in calendar.ics) or else its last 4 characters; never the token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    name = parts.path.rsplit("/", 1)[-1]
    # A file name (basic.ics, calendar.ics) says which export it is; else a token's last 4.
    tail = name if "." in name and len(name) <= 24 else url[-4:]
    return f"{parts.scheme}://{host}/…{tail}"


def _scrub(message: str, urls: Iterable[str]) -> str:
    for url in urls:
        message = message.replace(url, url_hint(url))
    return message[:480]


async def fetch_feed(
    url: str, *, etag: str | None, last_modified: str | None, timeout: float, max_bytes: int,
    allow_private: bool,
) -> Fetched:
    import httpx  # the feed libraries load with the first poll, not with the app

    seen = [url]
    try:
        async with asyncio.timeout(timeout):
            return await _fetch(url, etag, last_modified, timeout, max_bytes, allow_private, seen)
    except TimeoutError:
        raise FeedError(f"timed out after {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise FeedError(_scrub(f"{type(error).__name__}: {error}", seen)) from None


async def _fetch(
    url: str, etag: str | None, last_modified: str | None, timeout: float, max_bytes: int,
    allow_private: bool, seen: list[str],
) -> Fetched:
    import httpx

    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            refused = await refused_target(url, allow_private=allow_private)
            if refused is not None:
                raise FeedError(refused)
            async with client.stream("GET", url, headers=headers) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    location = response.headers["location"]
                    url = urljoin(url, location)
                    seen.append(url)
                    if urlsplit(url).scheme not in ("http", "https"):
                        raise FeedError("redirected to an address that is not http(s)")
                    continue
                if response.status_code == 304:
                    return Fetched(None, etag, last_modified)
                if response.status_code != 200:
                    raise FeedError(f"HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise FeedError(f"the calendar is larger than {max_bytes} bytes")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise FeedError(f"the calendar is larger than {max_bytes} bytes")
                return Fetched(
                    bytes(body), response.headers.get("etag"), response.headers.get("last-modified")
                )
    raise FeedError(f"more than {MAX_REDIRECTS} redirects")


Span = tuple[datetime, datetime]


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # an all-day event's date: local midnight
        return datetime.combine(value, time.min, zone).astimezone(UTC)
    if value.tzinfo is None:  # floating: the staff member's wall clock
        return value.replace(tzinfo=zone).astimezone(UTC)
    return value.astimezone(UTC)


def busy_spans(body: bytes, *, zone: ZoneInfo, start: datetime, end: datetime) -> list[Span]:
    """The merged busy spans of the iCalendar ``body`` that overlap [start, end), in UTC.
    CPU-bound (run it in a thread); raises FeedError for what is not a calendar."""
    import icalendar
    import recurring_ical_events
    import x_wr_timezone

    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as error:
        raise FeedError(f"not an iCalendar file: {str(error)[:200]}") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise FeedError("not an iCalendar file: no VCALENDAR")
    try:
        calendar = x_wr_timezone.to_standard(calendar)
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end)
    except Exception as error:  # noqa: BLE001 - the libraries raise many kinds on bad input
        raise FeedError(f"cannot expand the calendar: {type(error).__name__}: {str(error)[:200]}") from None
    spans: list[Span] = []
    for count, event in enumerate(occurrences):
        if count >= MAX_OCCURRENCES:
            raise FeedError(f"more than {MAX_OCCURRENCES} events in the stored horizon")
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        try:
            event_start, event_end = event.start, event.end
        except Exception:  # noqa: BLE001 - an event without a usable start: not busy time
            continue
        if not isinstance(event_start, datetime) and event_end == event_start:
            event_end = event_start + timedelta(days=1)
        first, last = _instant(event_start, zone), _instant(event_end, zone)
        if first < last and first < end and last > start:
            spans.append((first, last))
    return merge(spans)


def merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1]:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged
