"""The process's Broadcast: Redis pub/sub in production, in memory in embedded mode.

broadcaster 0.3.1's RedisBackend.subscribe wakes its listener *before* subscribing; the
listener then finds redis-py's pubsub not yet subscribed, its ``listen()`` ends at once, and
the backend never delivers a message (found by test: a published event never arrived). The
subclass below subscribes first and wakes the listener after.
"""

from __future__ import annotations

from broadcaster import Broadcast
from broadcaster._backends.redis import RedisBackend


class SubscribedFirstRedisBackend(RedisBackend):
    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        self._ready.set()


def make_broadcast(redis_url: str | None) -> Broadcast:
    if redis_url:
        return Broadcast(backend=SubscribedFirstRedisBackend(redis_url))
    return Broadcast("memory://")
