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
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    period: timedelta

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


def decide(limit: Limit, *, now_ms: int, stored_tat_ms: int | None) -> tuple[Decision, int | None]:
    """GCRA, as a pure function: the decision and the new theoretical arrival time to store
    (None when the request is refused and nothing changes)."""
    tat = max(stored_tat_ms or now_ms, now_ms)
    new_tat = tat + limit.interval_ms
    allow_at = new_tat - limit.period_ms
    if now_ms < allow_at:
        return (
            Decision(False, limit.count, 0, math.ceil((allow_at - now_ms) / 1000), math.ceil((tat - now_ms) / 1000)),
            None,
        )
    remaining = (limit.period_ms - (new_tat - now_ms)) // limit.interval_ms
    return Decision(True, limit.count, remaining, 0, math.ceil((new_tat - now_ms) / 1000)), new_tat


class RateLimiter(Protocol):
    async def hit(self, limit: Limit, key: str) -> Decision: ...


class MemoryRateLimiter:
    """For the embedded mode: one process, state in a dict that forgets expired keys."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._tats: dict[str, int] = {}

    async def hit(self, limit: Limit, key: str) -> Decision:
        now_ms = int(time.monotonic() * 1000)
        full_key = f"{limit.name}:{key}"
        decision, new_tat = decide(limit, now_ms=now_ms, stored_tat_ms=self._tats.get(full_key))
        if new_tat is not None:
            if len(self._tats) >= self.MAX_KEYS:
                self._tats = {k: v for k, v in self._tats.items() if v > now_ms}
            self._tats[full_key] = new_tat
        return decision


# The same arithmetic as decide(), run inside Redis so that check-and-update is one step, for
# each key in turn (KEYS[i] with its limit's period and interval in ARGV[2i-1], ARGV[2i]).
_GCRA_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local answers = {}
for i, key in ipairs(KEYS) do
  local period = tonumber(ARGV[2 * i - 1])
  local interval = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
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
        self._pending: list[tuple[Limit, str, asyncio.Future[Decision]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def hit(self, limit: Limit, key: str) -> Decision:
        decided: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._pending.append((limit, f"{self._prefix}:{limit.name}:{key}", decided))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send_pending())
        return await decided

    async def _send_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    answers = await self._script(
                        keys=[key for _, key, _ in batch],
                        args=[n for limit, _, _ in batch for n in (limit.period_ms, limit.interval_ms)],
                    )
                except Exception as error:  # each waiting request hears of it
                    for _, _, decided in batch:
                        if not decided.done():
                            decided.set_exception(error)
                    continue
                for index, (limit, _, decided) in enumerate(batch):
                    if not decided.done():
                        decided.set_result(_decision(limit, *answers[3 * index: 3 * index + 3]))
        finally:
            self._sending = None


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
