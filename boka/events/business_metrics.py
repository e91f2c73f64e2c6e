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


# Both events also fire for a SAVEPOINT's release and rollback (SQLAlchemy 2.1), which are not
# the transaction's end (as in boka/events/wakeup.py).

@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for event_type in session.info.pop(_PENDING, ()):
        BUSINESS_EVENTS.labels(type=event_type).inc()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)
