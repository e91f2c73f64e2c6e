"""Wake the relay of this process as soon as a transaction that wrote events commits, so
embedded mode (and the process that made the change) need not wait for the next poll."""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlalchemy.orm import Session

OUTBOX_WRITTEN = "boka.outbox_written"
_waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


def mark_outbox_written(session: Session) -> None:
    session.info[OUTBOX_WRITTEN] = True


def watch(signal: asyncio.Event) -> None:
    _waiting.add((asyncio.get_running_loop(), signal))


def unwatch(signal: asyncio.Event) -> None:
    for entry in [e for e in _waiting if e[1] is signal]:
        _waiting.discard(entry)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(OUTBOX_WRITTEN, False):
        for loop, signal in list(_waiting):
            if not loop.is_closed():
                loop.call_soon_threadsafe(signal.set)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(OUTBOX_WRITTEN, None)
