"""Booking events to this process's live subscribers, with the work done once per audience.

Subscribers who would see the same thing share a *group*: the same ``BookingWatch`` (who is
watching: ``BookingViewer``, and an optional staff filter) and the same ``render_key`` (how it is
shown: for GraphQL, the document, variables and the grants its fields are resolved with). For
each event the fan-out reads the booking once (``BookingSnapshots``), asks each group whether it
may see it (no database), renders once per group that may, and hands the result to each of the
group's subscribers: ``deliver`` must not block (a websocket subscriber queues or writes).

One task per tenant takes that tenant's events from the hub in order; its queue is unbounded,
since the fan-out never waits for a subscriber, so no event is dropped on the way to them.
Subscribers that fall too far behind are their transport's to drop (see boka/web/live_socket.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from boka.booking.access import BookingFacts, BookingViewer
from boka.events.hub import Listener, LiveHub
from boka.events.snapshots import BookingSnapshots
from boka.events.types import BOOKING_EVENT_PREFIX
from boka.observability.logging import get_logger

log = get_logger("boka.events.fanout")

# Renders an event for one group: (hub message, booking facts) -> what its subscribers get.
Render = Callable[[dict[str, Any], BookingFacts], Awaitable[Any]]


@dataclass(frozen=True)
class BookingWatch:
    """Which booking events a subscriber is after, and may see."""

    viewer: BookingViewer
    staff_id: uuid.UUID | None = None

    def wants(self, facts: BookingFacts) -> bool:
        if self.staff_id is not None and facts.booking.staff_id != self.staff_id:
            return False
        return self.viewer.sees(facts)


class FanoutSubscription:
    """One subscriber's place in the fan-out."""

    __slots__ = ("_fanout", "_group", "deliver", "fail")

    def __init__(self, fanout: BookingFanout, deliver: Callable[[Any], None],
                 fail: Callable[[Exception], None]) -> None:
        self._fanout = fanout
        self._group: _Group | None = None
        self.deliver = deliver
        self.fail = fail

    @property
    def active(self) -> bool:
        return self._group is not None

    @property
    def watch(self) -> BookingWatch | None:
        return self._group.watch if self._group is not None else None

    @property
    def render_key(self) -> Hashable | None:
        """The group's ``render_key``: one object for all its subscribers."""
        return self._group.key[1] if self._group is not None else None

    def move(self, watch: BookingWatch, render_key: Hashable, render: Render) -> None:
        """Watch as someone else now (the principal's role changed): another group."""
        old = self._group
        self._fanout._join(self, watch, render_key, render)  # first, so the tenant's feed stays
        self._fanout._drop(self, old)

    def cancel(self) -> None:
        group, self._group = self._group, None
        self._fanout._drop(self, group)


class _Group:
    __slots__ = ("key", "render", "subscribers", "watch")

    def __init__(self, key: tuple[BookingWatch, Hashable], watch: BookingWatch, render: Render) -> None:
        self.key = key
        self.watch = watch
        self.render = render
        self.subscribers: dict[FanoutSubscription, None] = {}  # ordered, O(1) removal


class _TenantFeed:
    def __init__(self, tenant_id: uuid.UUID) -> None:
        self.tenant_id = tenant_id
        self.groups: dict[tuple[BookingWatch, Hashable], _Group] = {}
        self.events = Listener(tenant_id, 0, is_booking_event)  # unbounded: never drops
        self.task: asyncio.Task[None] | None = None


def is_booking_event(message: dict[str, Any]) -> bool:
    return str(message.get("type", "")).startswith(BOOKING_EVENT_PREFIX)


class BookingFanout:
    def __init__(self, hub: LiveHub, snapshots: BookingSnapshots) -> None:
        self.hub = hub
        self.snapshots = snapshots
        self._feeds: dict[uuid.UUID, _TenantFeed] = {}
        self.renders = 0  # how many times an event was rendered (observability, tests)

    def subscribe(
        self, watch: BookingWatch, render_key: Hashable, render: Render, *,
        deliver: Callable[[Any], None], fail: Callable[[Exception], None],
    ) -> FanoutSubscription:
        """Deliver the rendering of every booking event ``watch`` wants, until cancelled.
        ``fail`` is told of an event that could not be read or rendered; the subscription has
        ended then."""
        subscription = FanoutSubscription(self, deliver, fail)
        self._join(subscription, watch, render_key, render)
        return subscription

    def close(self) -> None:
        """Stop every tenant's feed (the process is stopping)."""
        for feed in self._feeds.values():
            self.hub.detach(feed.events)
            if feed.task is not None:
                feed.task.cancel()
        self._feeds.clear()

    def subscriber_count(self) -> int:
        return sum(len(g.subscribers) for f in self._feeds.values() for g in f.groups.values())

    def _join(self, subscription: FanoutSubscription, watch: BookingWatch, render_key: Hashable,
              render: Render) -> None:
        tenant_id = watch.viewer.tenant_id
        feed = self._feeds.get(tenant_id)
        if feed is None:
            feed = self._feeds[tenant_id] = _TenantFeed(tenant_id)
            self.hub.attach(feed.events)  # now, so no event is missed while the task starts
            feed.task = asyncio.create_task(self._follow(feed), name="boka-live-bookings")
        key = (watch, render_key)
        group = feed.groups.get(key)
        if group is None:
            group = feed.groups[key] = _Group(key, watch, render)
        group.subscribers[subscription] = None
        subscription._group = group

    def _drop(self, subscription: FanoutSubscription, group: _Group | None) -> None:
        if group is None:
            return
        group.subscribers.pop(subscription, None)
        feed = self._feeds.get(group.watch.viewer.tenant_id)
        if feed is None or group.subscribers:
            return
        if feed.groups.get(group.key) is group:
            del feed.groups[group.key]
        if not feed.groups:
            del self._feeds[feed.tenant_id]
            self.hub.detach(feed.events)
            if feed.task is not None:
                feed.task.cancel()

    async def _follow(self, feed: _TenantFeed) -> None:
        while True:
            message = await feed.events.get()
            try:
                await self.dispatch(feed, message)
            except Exception:  # one bad event must not end the tenant's feed
                log.exception("could not fan out a booking event", event_id=message.get("id"))

    async def dispatch(self, feed: _TenantFeed, message: dict[str, Any]) -> None:
        """Read the event's booking once; render once per group that wants it; deliver."""
        booking_id = uuid.UUID(message["payload"]["booking_id"])
        try:
            facts = await self.snapshots.for_event(message["id"], feed.tenant_id, booking_id)
        except Exception as error:
            log.exception("could not read the booking of an event", event_id=message.get("id"))
            self._fail(list(feed.groups.values()), error)
            return
        if facts is None:
            return  # gone (the tenant or booking was deleted since)
        groups = [group for group in feed.groups.values() if group.watch.wants(facts)]
        if not groups:
            return
        self.renders += len(groups)
        rendered = await asyncio.gather(*(group.render(message, facts) for group in groups),
                                        return_exceptions=True)
        for group, result in zip(groups, rendered, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.error("could not render a booking event", event_id=message.get("id"), exc_info=result)
                self._fail([group], result)
                continue
            for subscription in list(group.subscribers):
                subscription.deliver(result)

    def _fail(self, groups: list[_Group], error: Exception) -> None:
        for group in groups:
            for subscription in list(group.subscribers):
                subscription.cancel()
                subscription.fail(error)
