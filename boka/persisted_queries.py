"""Persisted queries for integrators.

Automatic persisted queries (APQ, Apollo's protocol): a client sends
``extensions.persistedQuery.sha256Hash`` instead of the query text; unknown hashes answer
``PersistedQueryNotFound`` and the client sends the text with the hash once, which is checked
(the hash must be the text's SHA-256) and kept: in Redis when configured (shared by every app
process), in memory otherwise.

Allowlist mode: only the operations of a manifest file may run (by hash or by their exact text);
anything else is refused, and nothing new is registered. The manifest is Apollo's persisted
query manifest (``{"operations": [{"id": <sha256>, "body": <query>}, ...]}``) or a plain
``{<sha256>: <query>}`` object.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from boka.errors import InvalidRequest, PersistedQueryNotAllowed, PersistedQueryNotFound
from boka.observability.logging import get_logger

log = get_logger("boka.persisted_queries")
T = TypeVar("T")

MEMORY_CAPACITY = 10_000
REDIS_TTL_SECONDS = 7 * 24 * 3600  # a hash not used for a week is asked for again
MAX_QUERY_CHARACTERS = 100_000
PERSISTED_QUERIES_STORED = Counter(
    "boka_persisted_queries_stored_total", "Query texts newly kept under their hash (APQ)."
)


def query_hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class QueryStore(Protocol):
    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, query: str) -> None: ...


class MemoryQueryStore:
    def __init__(self, capacity: int = MEMORY_CAPACITY) -> None:
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    async def get(self, digest: str) -> str | None:
        query = self._queries.get(digest)
        if query is not None:
            self._queries.move_to_end(digest)
        return query

    async def put(self, digest: str, query: str) -> None:
        self._queries[digest] = query
        self._queries.move_to_end(digest)
        while len(self._queries) > self._capacity:
            self._queries.popitem(last=False)


class RedisQueryStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, digest: str) -> str | None:
        value = await self._redis.get(f"boka:pq:{digest}")
        if value is None:
            return None
        await self._redis.expire(f"boka:pq:{digest}", REDIS_TTL_SECONDS)
        return value.decode() if isinstance(value, bytes) else str(value)

    async def put(self, digest: str, query: str) -> None:
        await self._redis.set(f"boka:pq:{digest}", query, ex=REDIS_TTL_SECONDS)


def load_manifest(path: str) -> dict[str, str]:
    """{sha256: query} from a manifest file; every id must be its body's SHA-256."""
    raw: Any = json.loads(Path(path).read_text())
    if isinstance(raw, dict) and isinstance(raw.get("operations"), list):
        pairs = [(op["id"], op["body"]) for op in raw["operations"]]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ValueError(f"{path}: not a persisted query manifest")
    for digest, query in pairs:
        if query_hash(query) != digest:
            raise ValueError(f"{path}: the id {digest} is not the SHA-256 of its query")
    return dict(pairs)


class PersistedQueries:
    """Turns an operation's (query, extensions) into the query to run, or refuses it."""

    def __init__(self, store: QueryStore, allowlist: dict[str, str] | None = None) -> None:
        self._store = store
        self._allowlist = allowlist
        # A hash names its text forever: this process remembers what it has seen, so only a
        # hash new to it costs a trip to the shared store (which then may have expired it:
        # the client sends the text again, as the protocol has it).
        self._seen = MemoryQueryStore()

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        persisted = (extensions or {}).get("persistedQuery")
        digest = _requested_hash(persisted)
        if self._allowlist is not None:
            return self._from_allowlist(query, digest)
        if digest is None:
            return query
        if query is None:
            known = await self._seen.get(digest) or await self._shared(self._store.get(digest))
            if known is None:
                raise PersistedQueryNotFound()
            await self._seen.put(digest, known)
            return known
        if len(query) > MAX_QUERY_CHARACTERS:
            raise InvalidRequest(f"A persisted query may have at most {MAX_QUERY_CHARACTERS:,} characters.")
        if await self._seen.get(digest) != query and query_hash(query) != digest:
            raise InvalidRequest("provided sha does not match query")
        return query

    async def remember(self, query: str, extensions: dict[str, Any] | None) -> None:
        """Keep a query sent with its hash, once it has parsed and validated (junk is never
        stored: issue 12 saw 20 x 5 MB of it grow Redis by 110 MB)."""
        digest = _requested_hash((extensions or {}).get("persistedQuery"))
        if self._allowlist is not None or digest is None or await self._seen.get(digest) == query:
            return
        await self._shared(self._store.put(digest, query))
        await self._seen.put(digest, query)
        PERSISTED_QUERIES_STORED.inc()

    async def _shared(self, call: Awaitable[T]) -> T | None:
        """The shared store's answer; None while it cannot be reached (Redis down): the client
        is then told PersistedQueryNotFound and sends the text, which runs as usual."""
        try:
            return await call
        except (RedisError, OSError) as error:
            log.warning("persisted query store unreachable", error=str(error))
            return None

    def _from_allowlist(self, query: str | None, digest: str | None) -> str:
        assert self._allowlist is not None
        wanted = digest or (query_hash(query) if query is not None else None)
        if wanted is None or wanted not in self._allowlist:
            raise PersistedQueryNotAllowed("Only registered operations may run on this server.")
        if query is not None and query_hash(query) != wanted:
            raise InvalidRequest("provided sha does not match query")
        return self._allowlist[wanted]


def _requested_hash(persisted: Any) -> str | None:
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1 or not isinstance(
        persisted.get("sha256Hash"), str
    ):
        raise InvalidRequest("extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}.")
    return persisted["sha256Hash"].lower()
