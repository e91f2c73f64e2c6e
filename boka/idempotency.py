"""Idempotency keys (Stripe's semantics): the table access.

A key belongs to a tenant (or none, for account-level mutations) and a principal (a user, an
API key, or ``guest`` for every anonymous caller of the tenant). The first request with a key
claims it with an ``in_progress`` row (INSERT ... ON CONFLICT DO NOTHING: one winner however
many app processes race), runs, and stores its response (``completed``); a request that finds
the row gets that response, or is told the key is busy or was used for another request.

An ``in_progress`` row is held for ``lock`` (60 s by default): if its process dies before
storing a response, the next request with the key takes it over after that. A row is kept
for ``ttl`` (24 h by default) and then swept (boka/jobs/scheduled.py); an expired key is free.

The HTTP side (when a key applies, waiting, the responses) is boka/web/idempotency.py.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database, dialect_insert
from boka.errors import IdempotencyKeyReused
from boka.identity.principal import Principal
from boka.models.idempotency import IdempotencyKey
from boka.models.types import utcnow

MAX_KEY_LENGTH = 255
GUEST = "guest"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"


@dataclass(frozen=True)
class KeyOwner:
    """Whose key it is: the tenant and principal a request speaks for."""

    tenant_id: uuid.UUID | None
    principal: str

    @classmethod
    def of(cls, principal: Principal) -> KeyOwner:
        """A user's keys are theirs across sessions; an API key's are the key's; anonymous
        callers share the tenant's ``guest`` keys (tenant + key)."""
        if principal.api_key is not None:
            who = f"api_key:{principal.api_key.id}"
        elif principal.user is not None:
            who = f"user:{principal.user.id}"
        else:
            who = GUEST
        return cls(principal.tenant.id if principal.tenant is not None else None, who)

    def row_id(self, key: str) -> str:
        return hashlib.sha256(
            f"{self.tenant_id or ''}\x00{self.principal}\x00{key}".encode()
        ).hexdigest()


def fingerprint(document_hash: str, operation_name: str | None, variables: dict | None) -> str:
    """What must match for a retry: the document, the operation and the variables."""
    return hashlib.sha256(
        orjson.dumps([document_hash, operation_name, variables or {}], option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: run, then ``complete`` (or ``release``)."""

    row_id: str
    tenant_id: uuid.UUID | None
    claimed_at: datetime


@dataclass(frozen=True)
class Stored:
    """The first request's response, to be sent again."""

    status: int
    body: bytes


@dataclass(frozen=True)
class Busy:
    """Another request with the key is running."""


Outcome = Claimed | Stored | Busy


class IdempotencyStore:
    def __init__(self, database: Database, *, ttl: timedelta, lock: timedelta) -> None:
        self.database = database
        self.ttl = ttl
        self.lock = lock

    async def claim(self, owner: KeyOwner, key: str, print_: str) -> Outcome:
        """Take the key, or say what holds it. Raises IdempotencyKeyReused for another
        request's key."""
        row_id, now = owner.row_id(key), utcnow()
        async with self.database.transaction(owner.tenant_id, write=True) as db:
            inserted = await db.execute(
                dialect_insert(db)(IdempotencyKey)
                .values(self._claim_values(row_id, owner, print_, now))
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(IdempotencyKey.id)
            )
            if inserted.first() is not None:
                return Claimed(row_id, owner.tenant_id, now)
            row = await _row(db, row_id)
            if row is None or _free(row, now):
                # Gone (swept), expired, or held by a request that died: take it over, if
                # no other request took it over first.
                taken = await db.execute(
                    sa.update(IdempotencyKey)
                    .where(IdempotencyKey.id == row_id, _free_clause(now))
                    .values(self._claim_values(row_id, owner, print_, now))
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:
                    return Claimed(row_id, owner.tenant_id, now)
                return Busy()
            return _outcome(row, print_)

    async def peek(self, owner: KeyOwner, key: str, print_: str) -> Outcome | None:
        """What ``claim`` would answer, read-only; None when the key is free to claim. For
        waiting on a busy key without taking SQLite's writer."""
        async with self.database.transaction(owner.tenant_id) as db:
            row = await _row(db, owner.row_id(key))
        if row is None or _free(row, utcnow()):
            return None
        return _outcome(row, print_)

    async def complete(self, claim: Claimed, status: int, body: bytes) -> None:
        """Keep the response of the claimed request (unless its hold lapsed and another
        request took the key over)."""
        async with self.database.transaction(claim.tenant_id, write=True) as db:
            await db.execute(
                sa.update(IdempotencyKey)
                .where(*_held_by(claim))
                .values(status=COMPLETED, response_status=status, response_body=body.decode())
                .execution_options(synchronize_session=False)
            )

    async def release(self, claim: Claimed) -> None:
        """Forget the claim: the request executed nothing, so a retry runs afresh."""
        async with self.database.transaction(claim.tenant_id, write=True) as db:
            await db.execute(
                sa.delete(IdempotencyKey).where(*_held_by(claim))
                .execution_options(synchronize_session=False)
            )

    def _claim_values(self, row_id: str, owner: KeyOwner, print_: str, now: datetime) -> dict:
        return {
            "id": row_id, "tenant_id": owner.tenant_id, "principal": owner.principal,
            "fingerprint": print_, "status": IN_PROGRESS, "response_status": None,
            "response_body": None, "created_at": now, "locked_until": now + self.lock,
            "expires_at": now + self.ttl,
        }


async def delete_expired_keys(db: AsyncSession, *, now: datetime) -> int:
    """The sweep: keys past their time to live (a transaction over all tenants)."""
    result = await db.execute(
        sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def _row(db: AsyncSession, row_id: str) -> IdempotencyKey | None:
    result = await db.execute(
        sa.select(IdempotencyKey).where(IdempotencyKey.id == row_id).execution_options(populate_existing=True)
    )
    return result.scalars().first()


def _free(row: IdempotencyKey, now: datetime) -> bool:
    return row.expires_at <= now or (row.status == IN_PROGRESS and row.locked_until <= now)


def _free_clause(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        IdempotencyKey.expires_at <= now,
        sa.and_(IdempotencyKey.status == IN_PROGRESS, IdempotencyKey.locked_until <= now),
    )


def _held_by(claim: Claimed) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        IdempotencyKey.id == claim.row_id,
        IdempotencyKey.status == IN_PROGRESS,
        IdempotencyKey.created_at == claim.claimed_at,
    )


def _outcome(row: IdempotencyKey, print_: str) -> Outcome:
    if row.fingerprint != print_:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another request (a different operation or "
            "different variables). Use a new key for a new request."
        )
    if row.status == COMPLETED and row.response_status is not None and row.response_body is not None:
        return Stored(row.response_status, row.response_body.encode())
    return Busy()
