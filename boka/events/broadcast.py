"""The process's Broadcast: Redis pub/sub in production, in memory in embedded mode.

broadcaster 0.3.1's RedisBackend has two faults fixed by the subclass below:

- its ``subscribe`` wakes its listener *before* subscribing; the listener then finds redis-py's
  pubsub not yet subscribed, its ``listen()`` ends at once, and the backend never delivers a
  message (found by test: a published event never arrived). Here it subscribes first.
- when the pub/sub connection breaks (Redis restarted), its listener task dies with the error
  and nobody hears of it: subscribers wait forever (issue 12: a live subscription got 33 of
  115 events, then nothing). Here the listener says the channel is lost (``healthy`` False,
  ``on_state`` callbacks), subscribes again until Redis answers, and says it is back.

redis-py's own retries are off for this client: a reconnect it made silently inside
``listen()`` would resubscribe without anyone knowing that messages were missed meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import typing
from collections.abc import Callable

from broadcaster import Broadcast
from broadcaster._backends.redis import RedisBackend
from broadcaster._base import Event
from redis import asyncio as redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from boka.background import stop_task
from boka.observability.logging import get_logger

log = get_logger("boka.events.broadcast")

RESUBSCRIBE_SECONDS = (0.2, 0.5, 1.0, 2.0)  # waits between tries, the last one repeated

# Called with True when the channel is (again) subscribed, False when it was lost.
StateListener = Callable[[bool], None]


class ResilientRedisBackend(RedisBackend):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._conn = redis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2, socket_keepalive=True
        )
        self._pubsub = self._conn.pubsub()
        self.healthy = True
        self.on_state: list[StateListener] = []

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        self._ready.set()

    async def disconnect(self) -> None:
        # The listener first, so that closing the connection under it is not taken for a loss.
        await stop_task(self._listener)
        self._listener = None
        await self._pubsub.aclose()
        await self._conn.aclose()

    async def _pubsub_listener(self) -> None:
        while True:
            await self._ready.wait()
            try:
                async for message in self._pubsub.listen():
                    if message["type"] == "message":
                        await self._queue.put(
                            Event(channel=message["channel"].decode(), message=message["data"].decode())
                        )
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure of the connection
                await self._resubscribe(error)
                continue
            self._ready.clear()  # no channel subscribed: wait for the next subscribe

    async def _resubscribe(self, error: Exception) -> None:
        channels = [name.decode() if isinstance(name, bytes) else name for name in self._pubsub.channels]
        self._set_healthy(False)
        log.warning("broadcast channel lost; resubscribing", error=repr(error), channels=channels)
        for attempt in itertools.count():
            await asyncio.sleep(RESUBSCRIBE_SECONDS[min(attempt, len(RESUBSCRIBE_SECONDS) - 1)])
            try:
                await self._pubsub.aclose()  # drops the dead connection and the channel list
                if channels:
                    await self._pubsub.subscribe(*channels)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001, S112 - still away: try again
                continue
            log.info("broadcast channel subscribed again", channels=channels, attempts=attempt + 1)
            if not channels:
                self._ready.clear()
            self._set_healthy(True)
            return

    def _set_healthy(self, healthy: bool) -> None:
        if self.healthy == healthy:
            return
        self.healthy = healthy
        for listener in list(self.on_state):
            try:
                listener(healthy)
            except Exception:  # noqa: BLE001 - one listener must not stop the others
                log.exception("broadcast state listener failed")


def make_broadcast(redis_url: str | None) -> Broadcast:
    if redis_url:
        return Broadcast(backend=ResilientRedisBackend(redis_url))
    return Broadcast("memory://")


def broadcast_backend(broadcast: Broadcast) -> typing.Any:
    return broadcast._backend  # noqa: SLF001 - broadcaster keeps it private, and has no accessor
