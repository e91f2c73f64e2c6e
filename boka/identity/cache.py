"""Who a request is from, remembered for a short while: the tenant a hint names, the live
session a token opens and the live API key a key is, so that a request does not go to the
database just to learn who sent it (issue 10: every request, even ``{ __typename }``, did).

Never stale past a change: every committed write to the tables behind these answers (users,
sessions, memberships, tenants, security settings, API keys) clears the cache in this process
before the writing request answers (``Database.on_commit``), and in every other process through
Redis pub/sub. While that channel is not subscribed (Redis down, reconnecting), the cache is
off: answers come from the database, as before. ``ttl`` bounds an entry's life regardless.

A lookup that raced a clear is not stored (the generation it started in is gone), so a session
revoked while another request was reading it cannot come back from the cache. Time-based
liveness (a session's expiry and idle limit, a key's expiry) is checked on every use.

Cached rows are shared, read-only snapshots: nothing may change them or add them to a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from redis.asyncio import Redis

from boka.background import stop_task
from boka.db import Change
from boka.models.identity import User, UserSession
from boka.models.security import ApiKey, SecuritySettings
from boka.models.tenancy import Tenant, TenantUser
from boka.observability.logging import get_logger

log = get_logger("boka.identity.cache")

T = TypeVar("T")

CHANNEL = "boka:identity-changed"
DEFAULT_TTL_SECONDS = 30.0
MAX_ENTRIES = 20_000
# Writes that cannot change a cached answer: a new session or key has a token nobody has
# looked up yet (misses are not cached for tokens).
_HARMLESS = {(UserSession, "insert"), (ApiKey, "insert")}
_WATCHED = {User, UserSession, TenantUser, Tenant, SecuritySettings, ApiKey}


def changes_identity(changes: frozenset[Change]) -> bool:
    return any(model in _WATCHED and (model, kind) not in _HARMLESS for model, kind in changes)


class IdentityCache:
    def __init__(self, *, ttl: float = DEFAULT_TTL_SECONDS, redis: Redis | None = None) -> None:
        """With ``redis``, other processes write too: this one tells them of its writes, and
        caches only while subscribed to theirs (see ``listen``)."""
        self._ttl = ttl
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        self._subscribed = redis is None
        self._redis = redis
        self._listener: asyncio.Task[None] | None = None
        self._reading: dict[Hashable, asyncio.Future[Any]] = {}
        # Pub/sub channels are the Redis server's, not a database's: deployments (and test runs)
        # sharing a server on different databases would clear each other's caches.
        db = redis.connection_pool.connection_kwargs.get("db", 0) if redis is not None else 0
        self._channel = f"{CHANNEL}:{db}"

    @property
    def enabled(self) -> bool:
        return self._subscribed and self._ttl > 0

    @property
    def generation(self) -> int:
        """Take this before reading the database; pass it to ``put``."""
        return self._generation

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """(found, value)."""
        if not self.enabled:
            return False, None
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        stored_at, value = entry
        if time.monotonic() - stored_at > self._ttl:
            self._entries.pop(key, None)
            return False, None
        return True, value

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        if not self.enabled or generation != self._generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def read_once(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        """``read()``, shared by the callers that ask for the same ``key`` while it runs: a
        thousand live connections of one session re-checking it together (or connecting at
        once, or missing the cache together right after a clear) cost one database read, not a
        thousand (which emptied the pool: bench/fanout.py). A caller that arrives after a
        clear starts a read of its own, so nobody is answered from a read begun before the
        change it might miss. A caller cancelled while waiting leaves the read to the others."""
        key = (key, self._generation)
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.ensure_future(read())
            reading.add_done_callback(lambda done: self._read_done(key, done))
        return asyncio.shield(reading)

    def _read_done(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        if self._reading.get(key) is done:
            del self._reading[key]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def after_commit(self, changes: frozenset[Change]) -> None:
        """``Database.on_commit`` listener: clear here, then tell the other processes."""
        if not changes_identity(changes):
            return
        self.clear()
        if self._redis is not None:
            try:
                await self._redis.publish(self._channel, b"clear")
            except Exception:  # the others stop caching when their subscription breaks
                log.warning("identity cache invalidation not published", exc_info=True)

    async def start(self) -> None:
        """Follow the other processes' invalidations in the background (waits briefly for the
        subscription, so a process caches from its first requests when Redis is up)."""
        if self._redis is None or self._listener is not None:
            return
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self.listen(on_ready=ready.set), name="boka-identity-cache")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 2)

    async def stop(self) -> None:
        await stop_task(self._listener)
        self._listener = None

    async def listen(self, *, on_ready: Callable[[], None] | None = None) -> None:
        """Follow the other processes' invalidations until cancelled; the cache is on only
        while subscribed, and starts empty after every (re)subscription."""
        if self._redis is None:
            return
        delay = 0.5
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self.clear()
                self._subscribed = True
                delay = 0.5
                if on_ready is not None:
                    on_ready()
                    on_ready = None
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.clear()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("identity cache invalidations lost; cache off until resubscribed",
                            exc_info=True)
            finally:
                self._subscribed = False
                self.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def session_key(token_digest: str, tenant_id: uuid.UUID | None) -> tuple[str, str, uuid.UUID | None]:
    return ("session", token_digest, tenant_id)


def tenant_key(kind: str, hint: str) -> tuple[str, str, str]:
    return ("tenant", kind, hint)


def api_key_key(token_digest: str) -> tuple[str, str]:
    return ("api_key", token_digest)
