"""RFC 5545 calendar objects: the invite attached to booking emails and staff feeds.

A booking's UID never changes, so calendar clients update or remove the event they already
have: SEQUENCE grows with each reschedule, METHOD:CANCEL with STATUS:CANCELLED removes it.
Times are written in UTC (``...Z``), which every client converts to its own zone.

A booking series is carried as one VEVENT per occurrence, never as an RRULE: each occurrence is
its own booking, with its own UID, SEQUENCE, staff member, price and status, so moving or
cancelling one occurrence updates or removes exactly that event, and occurrences that were not
booked simply have none (no EXDATE or RECURRENCE-ID bookkeeping to get wrong). Each occurrence's
event names its series (``X-BOKA-SERIES-ID``, and "occurrence i of n" in its description), so
a client can group them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from typing import TYPE_CHECKING

from boka.models.bookings import Booking, BookingStatus
from boka.models.types import utcnow
from boka.notifications.facts import BookingFacts

if TYPE_CHECKING:
    import icalendar

# icalendar is imported where a calendar is written (workers, feeds), not when the app starts.
PRODID = "-//Boka//Booking notifications//EN"


def booking_uid(booking_id: object, public_url: str) -> str:
    host = urlsplit(public_url).hostname or "boka"
    return f"booking-{booking_id}@{host}"


def _calendar(method: str | None) -> icalendar.Calendar:
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def invite(facts: BookingFacts, *, public_url: str, organizer: str, now: datetime | None = None) -> tuple[bytes, str]:
    """The invite for the booking's current state and the METHOD it carries."""
    booking = facts.booking
    cancelled = booking.status == BookingStatus.CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    import icalendar

    calendar = _calendar(method)
    event = icalendar.Event()
    event.add("uid", booking_uid(booking.id, public_url))
    event.add("sequence", facts.sequence)
    event.add("dtstamp", now or utcnow())
    event.add("dtstart", booking.start_time)
    event.add("dtend", booking.end_time)
    event.add("summary", f"{facts.service.name} ({facts.tenant.name})")
    event.add("description", f"{facts.service.name} with {facts.staff.display_name}"
              + _series_line(facts))
    if facts.series is not None:
        event.add("x-boka-series-id", str(facts.series.id))
    event.add("status", "CANCELLED" if cancelled else
              "TENTATIVE" if booking.status == BookingStatus.PENDING else "CONFIRMED")
    organizer_name, organizer_address = parseaddr(organizer)
    organizer_property = icalendar.vCalAddress(f"mailto:{organizer_address}")
    organizer_property.params["cn"] = icalendar.vText(organizer_name or facts.tenant.name)
    event.add("organizer", organizer_property)
    attendee = icalendar.vCalAddress(f"mailto:{facts.customer.email}")
    attendee.params["cn"] = icalendar.vText(facts.customer_name)
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical(), method


def _series_line(facts: BookingFacts) -> str:
    """For an occurrence of a series: which one it is (each occurrence is its own event)."""
    series, index = facts.series, facts.booking.series_index
    if series is None or index is None:
        return ""
    return f"\nOccurrence {index + 1} of {series.occurrence_count} of a recurring booking."


@dataclass(frozen=True)
class FeedEntry:
    booking: Booking
    service_name: str
    customer_name: str


def staff_feed(
    entries: Iterable[FeedEntry], *, calendar_name: str, public_url: str, now: datetime | None = None
) -> bytes:
    """A subscribable calendar of a staff member's bookings (METHOD:PUBLISH)."""
    import icalendar

    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    # How often subscribers should refetch (RFC 7986, and the older Microsoft name).
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    stamp = now or utcnow()
    for entry in entries:
        booking = entry.booking
        event = icalendar.Event()
        event.add("uid", booking_uid(booking.id, public_url))
        event.add("dtstamp", stamp)
        event.add("last-modified", booking.updated_at)
        event.add("dtstart", booking.start_time)
        event.add("dtend", booking.end_time)
        event.add("summary", f"{entry.service_name}: {entry.customer_name}")
        event.add("status", "TENTATIVE" if booking.status == BookingStatus.PENDING else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
