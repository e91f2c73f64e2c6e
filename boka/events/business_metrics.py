"""Counting the business's events (bookings, payments, refunds) once they commit.

``record_event`` notes each event's type on the session; the counters move after the
transaction commits, never for one that rolls back. Counted in the process that made the
change, so the sum over processes is the total.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from boka.observability.metrics import BUSINESS_EVENTS

COUNTED_PREFIXES = ("booking.", "payment.", "refund.")
_PENDING = "boka.business_events"


def note_event(session: Session, event_type: str) -> None:
    if event_type.startswith(COUNTED_PREFIXES):
        session.info.setdefault(_PENDING, []).append(event_type)


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for event_type in session.info.pop(_PENDING, ()):
        BUSINESS_EVENTS.labels(type=event_type).inc()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
