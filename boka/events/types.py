"""The names of Boka's domain events (the ``type`` column) and their aggregates."""

from __future__ import annotations

import base64
import uuid

BOOKING = "booking"
AVAILABILITY = "availability"  # availability.changed of a booking: its own stream per booking
SERVICE = "service"
STAFF_MEMBER = "staff_member"
CUSTOMER = "customer"
PAYMENT = "payment"
TENANT = "tenant"

AVAILABILITY_CHANGED = "availability.changed"
BOOKING_EVENT_PREFIX = "booking."
SERVICE_CHANGED = "service.changed"
STAFF_CHANGED = "staff.changed"
SCHEDULE_CHANGED = "schedule.changed"
CUSTOMER_CHANGED = "customer.changed"
SECURITY_ALERT = "security.alert"

# A booking history action becomes the event type "booking.<action>": created, confirmed,
# rescheduled, cancelled, completed, no_show, and whatever transitions are added later.


def booking_event_type(action: str) -> str:
    return f"{BOOKING_EVENT_PREFIX}{action}"


def global_id(type_name: str, row_id: uuid.UUID) -> str:
    """The Relay global id the GraphQL API gives a row (base64 of ``Type:uuid``), so that an
    integrator can pass an event's ids straight to ``node(id:)`` and the mutations."""
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()
