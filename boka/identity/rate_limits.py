"""Rate limits with GCRA (the generic cell rate algorithm): smooth, burst-tolerant, and one
number of state per key, updated atomically.

In production the state lives in Redis and is updated by one Lua script, using Redis's own
clock, so every app process sharing that Redis enforces the same limit. The embedded mode
keeps it in memory, in the process.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from boka.background import stop_task
from boka.observability.logging import get_logger

log = get_logger("boka.rate_limits")
RATE_LIMIT_FALLBACKS = Counter(
    "boka_rate_limit_fallbacks_total",
    "Rate-limit decisions made in process because Redis could not be reached, by limit.",
    ["limit"],
)


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    period: timedelta
    # Exact: every hit is decided by Redis, so all processes together never let one more
    # through (sign-in attempts). Otherwise each process decides from its own copy and shares
    # its hits every SYNC_INTERVAL (the general API limit, on every request's path).
    exact: bool = True

    @property
    def period_ms(self) -> int:
        return int(self.period.total_seconds() * 1000)

    @property
    def interval_ms(self) -> int:
        """One request's share of the period: the emission interval."""
        return max(1, self.period_ms // self.count)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int  # 0 when allowed
    reset_after_seconds: int  # until the full allowance is back


def decide(
    limit: Limit, *, now_ms: int, stored_tat_ms: int | None, cost: int = 1
) -> tuple[Decision, int | None]:
    """GCRA, as a pure function: the decision and the new theoretical arrival time to store
    (None when the request is refused and nothing changes). A request of ``cost`` counts as
    that many hits, all admitted or none."""
    tat = max(stored_tat_ms or now_ms, now_ms)
    new_tat = tat + limit.interval_ms * cost
    allow_at = new_tat - limit.period_ms
    if now_ms < allow_at:
        return (
            Decision(False, limit.count, 0, math.ceil((allow_at - now_ms) / 1000), math.ceil((tat - now_ms) / 1000)),
            None,
        )
    remaining = (limit.period_ms - (new_tat - now_ms)) // limit.interval_ms
    return Decision(True, limit.count, remaining, 0, math.ceil((new_tat - now_ms) / 1000)), new_tat


class RateLimiter(Protocol):
    async def hit(self, limit: Limit, key: str, cost: int = 1) -> Decision: ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """For the embedded mode: one process, state in a dict that forgets expired keys."""

    MAX_KEYS = 100_000

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self._tats: dict[str, int] = {}
        self._clock = clock or (lambda: int(time.monotonic() * 1000))

    async def hit(self, limit: Limit, key: str, cost: int = 1) -> Decision:
        now_ms = self._clock()
        full_key = f"{limit.name}:{key}"
        decision, new_tat = decide(limit, now_ms=now_ms, stored_tat_ms=self._tats.get(full_key), cost=cost)
        if new_tat is not None:
            self._store(full_key, new_tat, now_ms)
        return decision

    async def close(self) -> None:
        pass

    def learn(self, full_key: str, tat_ms: int) -> None:
        """Take a later arrival time from elsewhere (other processes' hits); never go back."""
        if tat_ms > self._tats.get(full_key, 0):
            self._store(full_key, tat_ms, self._clock())

    def _store(self, full_key: str, tat_ms: int, now_ms: int) -> None:
        if len(self._tats) >= self.MAX_KEYS:
            self._tats = {k: v for k, v in self._tats.items() if v > now_ms}
        self._tats[full_key] = tat_ms


# The same arithmetic as decide(), run inside Redis so that check-and-update is one step, for
# each key in turn (KEYS[i] with its limit's period, interval and the hit's cost in ARGV[3i-2],
# ARGV[3i-1], ARGV[3i]).
_GCRA_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local answers = {}
for i, key in ipairs(KEYS) do
  local period = tonumber(ARGV[3 * i - 2])
  local interval = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval * cost
  local allow_at = new_tat - period
  if now < allow_at then
    table.insert(answers, 0)
    table.insert(answers, allow_at - now)
    table.insert(answers, tat - now)
  else
    redis.call('SET', key, new_tat, 'PX', new_tat - now)
    table.insert(answers, 1)
    table.insert(answers, math.floor((period - (new_tat - now)) / interval))
    table.insert(answers, new_tat - now)
  end
end
return answers
"""


class RedisRateLimiter:
    """GCRA in Redis. Hits that arrive while a round trip is in flight travel together in the
    next one (one script call for all): each is still decided atomically and in arrival order
    by Redis, but under load one round trip serves many requests instead of one each. The keys
    of one call may differ, so this wants one Redis server, not a cluster."""

    def __init__(self, redis: Redis, prefix: str = "boka:ratelimit") -> None:
        self._script = redis.register_script(_GCRA_LUA)
        self._prefix = prefix
        self._pending: list[tuple[Limit, str, int, asyncio.Future[Decision]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def hit(self, limit: Limit, key: str, cost: int = 1) -> Decision:
        decided: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._pending.append((limit, f"{self._prefix}:{limit.name}:{key}", cost, decided))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send_pending())
        return await decided

    async def _send_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    answers = await self._script(
                        keys=[key for _, key, _, _ in batch],
                        args=[n for limit, _, cost, _ in batch
                              for n in (limit.period_ms, limit.interval_ms, cost)],
                    )
                except Exception as error:  # each waiting request hears of it
                    for _, _, _, decided in batch:
                        if not decided.done():
                            decided.set_exception(error)
                    continue
                for index, (limit, _, _, decided) in enumerate(batch):
                    if not decided.done():
                        decided.set_result(_decision(limit, *answers[3 * index: 3 * index + 3]))
        finally:
            self._sending = None


# Adds ARGV[2i] hits of ARGV[2i-1] ms each to KEYS[i]'s arrival time (they were allowed by a
# process already) and answers every key's arrival time, relative to Redis's clock now.
_ADD_HITS_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local answers = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local hits = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  tat = tat + hits * interval
  redis.call('SET', key, tat, 'PX', tat - now)
  table.insert(answers, tat - now)
end
return answers
"""
SYNC_INTERVAL = 0.1  # seconds between a process's pushes of its hits to Redis


class SharedRateLimiter:
    """Exact limits through Redis on every hit (RedisRateLimiter). The others are decided in
    this process while what it knows of the caller is under SYNC_INTERVAL old: it sends its
    hits to Redis every interval and takes back the total of all processes; a caller it has
    not heard of for longer goes to Redis exactly. A busy caller costs two Redis calls per
    interval instead of one per request; together the processes may let through what they
    admit in one interval before they hear of each other, which for an hourly API allowance
    is nothing."""

    def __init__(self, redis: Redis, prefix: str = "boka:ratelimit") -> None:
        self._exact = RedisRateLimiter(redis, prefix)
        self._add_hits = redis.register_script(_ADD_HITS_LUA)
        self._prefix = prefix
        self._local = MemoryRateLimiter(clock=_wall_clock_ms)
        self._unsent: dict[str, tuple[Limit, int]] = {}
        self._syncing: asyncio.Task[None] | None = None
        self._fresh_until: dict[str, float] = {}  # local key -> until when its count is current
        self._alone = MemoryRateLimiter()  # decides while Redis is unreachable
        self._quiet_until = 0.0

    def _mark_fresh(self, local_key: str) -> None:
        if len(self._fresh_until) >= MemoryRateLimiter.MAX_KEYS:
            self._fresh_until.clear()
        self._fresh_until[local_key] = time.monotonic() + SYNC_INTERVAL

    async def hit(self, limit: Limit, key: str, cost: int = 1) -> Decision:
        if limit.exact:
            return await self._from_redis_or_alone(limit, key, cost)
        local_key = f"{limit.name}:{key}"
        if self._fresh_until.get(local_key, 0.0) < time.monotonic():
            # What this process knows of the caller is older than one interval (or nothing):
            # ask Redis, which counts the hit and tells what all processes have used. Hits
            # this process admitted and has not sent yet go first, or Redis would not know
            # of them and admit again what this process already let through.
            await self._send_unsent(limit, f"{self._prefix}:{local_key}")
            decision = await self._from_redis_or_alone(limit, key, cost)
            self._local.learn(local_key, _wall_clock_ms() + decision.reset_after_seconds * 1000)
            self._mark_fresh(local_key)
            return decision
        decision = await self._local.hit(limit, key, cost)
        if decision.allowed:
            full_key = f"{self._prefix}:{limit.name}:{key}"
            _, hits = self._unsent.get(full_key, (limit, 0))
            self._unsent[full_key] = (limit, hits + cost)
            if self._syncing is None:
                self._syncing = asyncio.create_task(self._sync_soon())
        return decision

    async def _send_unsent(self, limit: Limit, full_key: str) -> None:
        pending = self._unsent.pop(full_key, None)
        if pending is None:
            return
        try:
            await self._add_hits(keys=[full_key], args=[limit.interval_ms, pending[1]])
        except (RedisError, OSError):
            self._unsent[full_key] = pending  # the next sync tries again

    async def _from_redis_or_alone(self, limit: Limit, key: str, cost: int = 1) -> Decision:
        """Redis's decision; while Redis cannot be reached, this process's own (each process
        then enforces the limit alone: fails to local, never open and never to an error)."""
        try:
            return await self._exact.hit(limit, key, cost)
        except (RedisError, OSError) as error:
            RATE_LIMIT_FALLBACKS.labels(limit.name).inc()
            if time.monotonic() >= self._quiet_until:  # one line per 10 s, not one per request
                self._quiet_until = time.monotonic() + 10
                log.warning("rate limits decided in process: Redis unreachable", error=str(error))
            return await self._alone.hit(limit, key, cost)

    async def close(self) -> None:
        """Stop syncing (hits not yet sent are dropped: they expire with their period)."""
        await stop_task(self._syncing)
        self._syncing = None

    async def _sync_soon(self) -> None:
        try:
            await asyncio.sleep(SYNC_INTERVAL)
            batch, self._unsent = self._unsent, {}
            keys = list(batch)
            try:
                answers = await self._add_hits(
                    keys=keys, args=[n for limit, hits in batch.values() for n in (limit.interval_ms, hits)]
                )
            except Exception:  # Redis away: this process's own count still limits
                log.warning("rate limit hits not shared", keys=len(keys), exc_info=True)
                return
            now_ms = _wall_clock_ms()
            for full_key, until_ms in zip(keys, answers, strict=True):
                limit, _ = batch[full_key]
                pending = self._unsent.get(full_key, (limit, 0))[1]  # hit while we were away
                local_key = full_key.removeprefix(f"{self._prefix}:")
                self._local.learn(local_key, now_ms + int(until_ms) + pending * limit.interval_ms)
                self._mark_fresh(local_key)
        except asyncio.CancelledError:
            self._unsent = {}
            raise
        finally:
            self._syncing = None
            if self._unsent:
                self._syncing = asyncio.create_task(self._sync_soon())


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _decision(limit: Limit, allowed: int, value: int, reset_ms: int) -> Decision:
    if allowed:
        return Decision(True, limit.count, int(value), 0, math.ceil(int(reset_ms) / 1000))
    return Decision(False, limit.count, 0, math.ceil(int(value) / 1000), math.ceil(int(reset_ms) / 1000))


@dataclass(frozen=True)
class RateLimits:
    """The seed's limits, from settings: sign-in 5/minute per IP, API 1000/hour per caller,
    admin operations 100/hour per user."""

    enabled: bool
    auth: Limit
    api: Limit
    admin: Limit
    api_cost_unit: int = 1_000  # query-cost units per API request (charged_requests)
    # A new business's owners and managers set up everything at once: for its first
    # ``setup_window`` their admin operations count against this larger allowance instead.
    admin_setup: Limit | None = None
    setup_window: timedelta = timedelta(0)

    def admin_for(self, business_created_at: datetime | None, now: datetime) -> Limit:
        """The admin allowance that applies in a business created at ``business_created_at``."""
        if self.admin_setup is not None and business_created_at is not None \
                and now - business_created_at < self.setup_window:
            return self.admin_setup
        return self.admin


def charged_requests(cost: int, unit: int) -> int:
    """How many requests of the API allowance an operation of this estimated cost uses."""
    return max(1, -(-cost // unit))


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """The IETF draft's RateLimit fields, plus Retry-After on a refusal."""
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_after_seconds),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, decision.retry_after_seconds))
    return headers
