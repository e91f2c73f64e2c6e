"""In-process consumers: jobs that react to committed events.

Register with ``@on("booking.cancelled")`` (or ``@on("*")`` for every event); the relay calls
the handler once per event, after commit, in outbox order, with a ``DeliveredEvent``. Delivery
is at least once: a handler may see an event again (after a crash, or when a handler after it
failed), so it must be idempotent, keyed on ``event.id``. Keep handlers short — enqueue a job
for real work: a handler that raises is retried (the relay stops at that event and tries again
on its next pass) up to ``BOKA_RELAY_MAX_ATTEMPTS`` times, then the event is logged as dead and
passed over.

The relay process imports ``CONSUMER_MODULES`` before it starts, so their ``@on``
registrations exist in whichever process runs the relay (the app or worker.py).
"""

from __future__ import annotations

import importlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Modules that register handlers with @on; add yours here.
CONSUMER_MODULES: tuple[str, ...] = (
    "boka.jobs.webhooks", "boka.jobs.reactions", "boka.jobs.waitlist",
)

ALL_EVENTS = "*"


@dataclass(frozen=True)
class DeliveredEvent:
    id: uuid.UUID
    tenant_id: uuid.UUID
    aggregate_type: str
    aggregate_id: uuid.UUID
    sequence: int
    type: str
    payload: dict[str, Any]
    occurred_at: datetime
    trace: str | None = None  # the writer's traceparent, when tracing was on

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> DeliveredEvent:
        return cls(
            id=uuid.UUID(message["id"]),
            tenant_id=uuid.UUID(message["tenant_id"]),
            aggregate_type=message["aggregate_type"],
            aggregate_id=uuid.UUID(message["aggregate_id"]),
            sequence=int(message["sequence"]),
            type=message["type"],
            payload=message["payload"],
            occurred_at=datetime.fromisoformat(message["occurred_at"]),
            trace=message.get("trace"),
        )


Handler = Callable[[DeliveredEvent], Awaitable[None]]


class ConsumerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if handler not in self._handlers[event_type]:
                self._handlers[event_type].append(handler)
            return handler

        return register

    def remove(self, event_type: str, handler: Handler) -> None:
        if handler in self._handlers.get(event_type, []):
            self._handlers[event_type].remove(handler)

    def handlers_for(self, event_type: str) -> list[Handler]:
        return [*self._handlers.get(event_type, []), *self._handlers.get(ALL_EVENTS, [])]


consumers = ConsumerRegistry()
on = consumers.on


def load_consumer_modules() -> None:
    for name in CONSUMER_MODULES:
        importlib.import_module(name)
