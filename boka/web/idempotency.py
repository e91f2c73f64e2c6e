"""The ``Idempotency-Key`` header on POST /graphql: when it applies, and what is answered.

It applies to one mutation POSTed as JSON (boka/web/graphql.py) by a caller whose
credentials resolved; queries ignore it. Batches and multipart bodies are not served at all.

The first request with a key runs and its response (status and body) is kept; a retry with
the same key and the same request gets that response back, with ``Idempotent-Replayed: true``,
and runs nothing. A retry that arrives while the first request runs waits for it (polling the
table, so across processes) up to ``BOKA_IDEMPOTENCY_WAIT_SECONDS``, then is answered
``IDEMPOTENCY_IN_PROGRESS`` (409). The key with another request is ``IDEMPOTENCY_KEY_REUSED``
(422). Nothing is kept for a request that executed nothing (it failed parsing, validation or
variable coercion) or was only rate limited: a retry runs afresh. The table side is
boka/idempotency.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.responses import Response
from strawberry.types import ExecutionResult

from boka.config import Settings
from boka.db import Database
from boka.errors import (
    ErrorCode,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidRequest,
)
from boka.idempotency import (
    MAX_KEY_LENGTH,
    Busy,
    Claimed,
    IdempotencyStore,
    KeyOwner,
    Stored,
    fingerprint,
)
from boka.identity.principal import Principal
from boka.observability.logging import get_logger
from boka.schema.errors import error_code
from boka.schema.execution import MutationDocument
from boka.web.graphql_http import refusal as http_refusal

log = get_logger("boka.idempotency")

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
FIRST_POLL_SECONDS = 0.01
MAX_POLL_SECONDS = 0.25

# (the response, and whether it is worth keeping for retries)
Execution = tuple[Response, bool]


# Answers that mean "not now, nothing was done": a retry with the key should run.
RETRY_LATER = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.SERVICE_UNAVAILABLE})


def worth_keeping(result: ExecutionResult) -> bool:
    """Whether a retry should get this result back: yes once the operation executed, even if
    it failed (as Stripe keeps its 500s); no if it executed nothing (every error is a parse,
    validation or variable error, with no path) or was only told to come back later (rate
    limited, or no database connection free)."""
    errors = result.errors or []
    if not errors:
        return True
    if result.data is None and all(error.path is None for error in errors):
        return False
    return not all(error_code(error) in RETRY_LATER for error in errors)


def refusal(error: Exception, status_code: int) -> Response:
    """An HTTP-level refusal as a GraphQL response: ``errors[0].extensions.code`` (and
    ``data: null``, as these answers have always had)."""
    response = http_refusal(status_code, error)
    body = orjson.loads(response.body)
    response.body = orjson.dumps({"data": None, **body})
    response.headers["content-length"] = str(len(response.body))
    return response


class IdempotentMutations:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.store = IdempotencyStore(
            database,
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            lock=timedelta(seconds=settings.idempotency_lock_seconds),
        )
        self.wait_seconds = settings.idempotency_wait_seconds

    async def run(
        self, key: str, principal: Principal, mutation: MutationDocument,
        variables: dict[str, Any] | None, execute: Callable[[], Awaitable[Execution]],
    ) -> Response:
        """Run ``execute`` once for this key, or answer what its first run answered."""
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return refusal(
                InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters."), 400
            )
        owner = KeyOwner.of(principal)
        print_ = fingerprint(mutation.document_hash, mutation.operation_name, variables)
        try:
            outcome = await self._claim(owner, key, print_)
        except IdempotencyKeyReused as reused:
            return refusal(reused, 422)
        except IdempotencyInProgress as busy:
            return refusal(busy, 409)
        except PoolTimeout as busy:  # no connection free to look the key up: nothing ran
            return refusal(busy, 503)
        if isinstance(outcome, Stored):
            return Response(
                outcome.body, status_code=outcome.status, media_type="application/json",
                headers={REPLAYED_HEADER: "true"},
            )
        try:
            response, keep = await execute()
        except Exception:
            await self.store.release(outcome)
            raise
        try:
            if keep:
                await self.store.complete(outcome, response.status_code, bytes(response.body))
            else:
                await self.store.release(outcome)
        except Exception as error:  # noqa: BLE001 - the mutation ran: its answer must go out
            # The claim then lapses after the lock time, and a later retry runs again.
            log.warning("could not store an idempotent response", error=repr(error))
        return response

    async def _claim(self, owner: KeyOwner, key: str, print_: str) -> Claimed | Stored:
        """The key, or its stored response; waits while another request holds it."""
        deadline = time.monotonic() + self.wait_seconds
        delay = FIRST_POLL_SECONDS
        outcome = await self.store.claim(owner, key, print_)
        while isinstance(outcome, Busy):
            left = deadline - time.monotonic()
            if left <= 0:
                raise IdempotencyInProgress(
                    "A request with this Idempotency-Key is still running; retry shortly.",
                    retry_after=1,
                )
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, MAX_POLL_SECONDS)
            outcome = await self.store.peek(owner, key, print_) or await self.store.claim(
                owner, key, print_
            )
        return outcome
