"""Single-use account links (verify an email, reset a password): issued as opaque tokens,
stored only as SHA-256 digests, good once and until they expire. Issuing a new one of the same
purpose retires the older ones, so only the newest mail works."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.identity.tokens import token_digest
from boka.models.identity import User
from boka.models.onboarding import AccountToken, TokenPurpose

LINK_TOKEN_PREFIX = "bkl_"


def new_link_token() -> str:
    return LINK_TOKEN_PREFIX + secrets.token_urlsafe(32)


def invalid_link(message: str = "This link is not valid any more; ask for a new one.") -> UserInputError:
    return UserInputError(UserErrorCode.INVALID_TOKEN, message, "token")


async def issue_account_token(
    db: AsyncSession, user: User, purpose: TokenPurpose, *, ttl: timedelta, now: datetime,
    email: str | None = None, session_id: uuid.UUID | None = None,
) -> str:
    """A new link token for ``user`` (shown once); earlier unused ones of ``purpose`` stop working."""
    await db.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose.value,
               AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = new_link_token()
    db.add(AccountToken(
        user_id=user.id, purpose=purpose.value, token_hash=token_digest(token),
        email=email or user.email, expires_at=now + ttl, created_at=now, session_id=session_id,
    ))
    await db.flush()
    return token


async def live_account_token(
    db: AsyncSession, token: str, purpose: TokenPurpose, now: datetime
) -> AccountToken:
    """The unused, unexpired token of ``purpose`` (locked on PostgreSQL), or INVALID_TOKEN."""
    statement = sa.select(AccountToken).where(
        AccountToken.token_hash == token_digest(token.strip()),
        AccountToken.purpose == purpose.value,
        AccountToken.used_at.is_(None),
        AccountToken.expires_at > now,
    )
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    found = (await db.execute(statement)).scalar_one_or_none()
    if found is None:
        raise invalid_link()
    return found
