"""How a live subscription leaves Strawberry's per-subscription machinery.

Strawberry runs a subscription as a task per subscriber that executes the selection set again
for every event. A transport that can write pre-rendered results itself (the websocket handler
in boka/web/live_socket.py) offers a ``LiveHandoff`` while the subscription's resolver starts.
The resolver checks its arguments and access as always, then hands over a ``start`` function:
the transport starts the subscription with its own ``deliver`` and ``fail``, keeps it (cancels
it on ``complete`` or disconnect, tells it when the principal changes) and Strawberry's
operation ends there without a ``complete`` message. Where no transport offers one (say,
multipart subscriptions over HTTP), the resolver yields results as before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from boka.identity.principal import Principal


@dataclass(frozen=True)
class Rendered:
    """One event as a subscription's clients get it: the ``payload`` of a graphql-transport-ws
    ``next`` message as JSON text, the same for every subscriber of a group. Results with
    errors carry them apart instead (``data`` and formatted ``errors``), since every error
    names its subscriber's request id."""

    text: str | None
    data: Any = None
    errors: list[dict[str, Any]] | None = None


Deliver = Callable[[Rendered], None]
Fail = Callable[[Exception], None]


class HandedOver(Protocol):
    """A subscription running outside Strawberry, as the transport holds it."""

    def cancel(self) -> None: ...

    def principal_changed(self, principal: Principal) -> None:
        """The connection's principal was checked again and is still signed in."""


class LiveHandoff(Protocol):
    # the operation's variables as the client sent them (before coercion)
    variables: dict[str, Any] | None

    def take(self, start: Callable[[Deliver, Fail], HandedOver]) -> None:
        """Start the subscription with the transport's own delivery, and keep it."""


current_handoff: ContextVar[LiveHandoff | None] = ContextVar("boka_live_handoff", default=None)
