"""Sign-in sessions: create, resolve from a token, revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.identity.tokens import new_session_token, token_digest
from boka.models.identity import User, UserSession
from boka.models.types import utcnow

# last_seen_at is written at most this often per session, not on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedSession:
    token: str  # shown to the client once; only its digest is stored
    session: UserSession


@dataclass(frozen=True)
class DeviceInfo:
    ip_address: str | None = None
    user_agent: str | None = None


async def start_session(
    db: AsyncSession,
    user: User,
    *,
    tenant_id: uuid.UUID | None,
    device: DeviceInfo,
    ttl: timedelta,
) -> IssuedSession:
    token = new_session_token()
    now = utcnow()
    session = UserSession(
        token_hash=token_digest(token),
        user_id=user.id,
        tenant_id=tenant_id,
        ip_address=device.ip_address,
        user_agent=(device.user_agent or "")[:512] or None,
        expires_at=now + ttl,
        last_seen_at=now,
        created_at=now,
    )
    db.add(session)
    await db.flush()
    return IssuedSession(token=token, session=session)


async def find_active_session(db: AsyncSession, token: str) -> tuple[UserSession, User] | None:
    """The live session and its user for ``token``, or None if unknown, revoked or expired."""
    now = utcnow()
    row = (
        await db.execute(
            sa.select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == token_digest(token),
                UserSession.is_active.is_(True),
                UserSession.expires_at > now,
                User.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    session, user = row
    return session, user


def is_last_seen_stale(session: UserSession) -> bool:
    return utcnow() - session.last_seen_at >= LAST_SEEN_RESOLUTION


async def touch_session(db: AsyncSession, session_id: uuid.UUID) -> None:
    await db.execute(
        sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow())
    )


async def end_session(db: AsyncSession, session_id: uuid.UUID) -> None:
    await db.execute(
        sa.update(UserSession).where(UserSession.id == session_id).values(is_active=False)
    )
