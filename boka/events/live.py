"""The live layer of one process: its Broadcast connection (Redis in production, memory in
embedded mode), the hub that fans events out to subscribers, the booking-events fan-out, the
availability feed, and — where this process runs it — the relay. Started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol
from urllib.parse import urlparse

from broadcaster import Broadcast

from boka.background import stop_task
from boka.config import Settings
from boka.db import Database
from boka.events.broadcast import broadcast_backend, make_broadcast
from boka.events.consumers import load_consumer_modules
from boka.events.fanout import BookingFanout
from boka.events.hub import LiveHub
from boka.events.live_availability import AvailabilityFeed
from boka.events.relay import Relay
from boka.events.snapshots import BookingSnapshots
from boka.runtime_binding import bind_runtime
from boka.observability.logging import get_logger

log = get_logger("boka.events.live")


def events_channel(settings: Settings) -> str:
    """Redis pub/sub channels ignore the database number; put it in the name, so deployments
    (and test runs) sharing one Redis on different databases do not hear each other."""
    if not settings.redis_url:
        return "boka.events"
    database = urlparse(settings.redis_url).path.strip("/") or "0"
    return f"boka.events.{database}"


class LiveConnection(Protocol):
    """A client connection with live subscriptions (a websocket), told to reconnect when the
    process's fan-out lost events, and asked to check its session again from time to time."""

    async def reconnect(self) -> None: ...

    async def check_session(self) -> None: ...


def build_relay(settings: Settings, database: Database, broadcast: Broadcast | None) -> Relay:
    return Relay(
        database, broadcast, channel=events_channel(settings),
        poll_seconds=settings.relay_poll_seconds, max_attempts=settings.relay_max_attempts,
    )


class Live:
    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.broadcast = make_broadcast(settings.redis_url)
        self.hub = LiveHub(self.broadcast, channel=events_channel(settings))
        self.availability = AvailabilityFeed(
            self.hub, database, queue_size=settings.live_queue_size
        )
        self.bookings = BookingSnapshots(database)
        self.booking_events = BookingFanout(self.hub, self.bookings)
        self.relay = build_relay(settings, database, self.broadcast) if settings.runs_relay_in_app else None
        self._relay_task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[None] | None = None
        self.runtime: object | None = None  # the Runtime, passed on to job functions (boka/runtime_binding.py)
        self.connected = False
        self.connections: set[LiveConnection] = set()
        self._reconnecting: set[asyncio.Task[None]] = set()
        self._checking_sessions: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Subscribed to the broadcast channel now: events published reach this process."""
        return self.connected and getattr(broadcast_backend(self.broadcast), "healthy", True)

    def _channel_state(self, healthy: bool) -> None:
        """The broadcast channel was lost (or is back). Whatever was published meanwhile never
        reached this process's subscribers, so every live connection is told to reconnect (and
        resync); until the channel is back, new ones are turned away (see boka/web/live_socket.py)."""
        if healthy:
            log.info("live fan-out subscribed again")
            return
        log.warning("live fan-out lost the broadcast channel; closing live connections",
                    connections=len(self.connections))
        for connection in list(self.connections):
            task = asyncio.create_task(connection.reconnect(), name="boka-live-reconnect")
            self._reconnecting.add(task)
            task.add_done_callback(self._reconnecting.discard)

    async def start(self, runtime: object | None = None) -> None:
        """Connect the broadcast and start the hub (and relay). If Redis is away the app still
        starts (readiness reports it) and the connection is retried in the background."""
        self.runtime = runtime
        try:
            await self._connect()
        except Exception as error:  # noqa: BLE001
            log.warning("broadcast unavailable; retrying in the background", error=str(error))
            self._connecting = asyncio.create_task(self._keep_connecting(), name="boka-live-connect")
        if self.relay is not None:
            load_consumer_modules()
            self._relay_task = asyncio.create_task(self._run_relay(self.relay), name="boka-relay")
        self._checking_sessions = asyncio.create_task(self._check_sessions(), name="boka-live-sessions")

    async def _check_sessions(self) -> None:
        """Each live connection checks its session (a revoked one closes) once per
        ``live_session_check_seconds``, the checks spread evenly over that time, one after
        another: one task for all connections rather than a timer per connection. Connections
        opened together (a burst of clients, a deploy) then never check all at once, which
        held the event loop (and the fan-out) for as long as a thousand checks take and, when
        the identity cache had just been cleared, emptied the database pool."""
        seconds = self.settings.live_session_check_seconds
        while True:
            connections = list(self.connections)
            if not connections:
                await asyncio.sleep(seconds)
                continue
            spacing = seconds / len(connections)
            for connection in connections:
                await asyncio.sleep(spacing)
                if connection not in self.connections:
                    continue  # closed meanwhile
                try:
                    await connection.check_session()
                except Exception:  # noqa: BLE001 - one connection must not stop the others
                    log.warning("live session check failed", exc_info=True)

    async def _run_relay(self, relay: Relay) -> None:
        if self.runtime is not None:
            bind_runtime(self.runtime)  # consumers reach the app's runtime via job_runtime()
        await relay.run()

    async def _connect(self) -> None:
        backend = broadcast_backend(self.broadcast)
        if hasattr(backend, "on_state") and self._channel_state not in backend.on_state:
            backend.on_state.append(self._channel_state)
        await self.broadcast.connect()
        try:
            await self.hub.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.broadcast.disconnect()
            raise
        self.connected = True

    async def _keep_connecting(self) -> None:
        while not self.connected:
            await asyncio.sleep(2)
            try:
                self.broadcast = make_broadcast(self.settings.redis_url)
                self.hub.broadcast = self.broadcast
                if self.relay is not None:
                    self.relay.broadcast = self.broadcast
                await self._connect()
                log.info("broadcast connected")
            except Exception as error:  # noqa: BLE001
                log.warning("broadcast still unavailable", error=str(error))

    async def stop(self) -> None:
        await stop_task(self._checking_sessions)
        await stop_task(self._connecting)
        await stop_task(self._relay_task)
        self.booking_events.close()
        if self.connected:
            await self.hub.stop()
            with contextlib.suppress(Exception):
                await self.broadcast.disconnect()
