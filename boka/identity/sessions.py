"""Sign-in sessions: create, resolve from a token, revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.identity.tokens import new_session_token, token_digest
from boka.models.identity import User, UserSession
from boka.models.tenancy import Role, TenantUser
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


@dataclass(frozen=True)
class ActiveSession:
    session: UserSession
    user: User
    role: Role | None  # the user's role in the tenant asked about, if they belong to it


async def find_active_session(
    db: AsyncSession, token: str, tenant_id: uuid.UUID | None = None
) -> ActiveSession | None:
    """The live session for ``token`` with its user and their role in ``tenant_id``, in one
    query; None if the token is unknown, revoked or expired, or the user is disabled."""
    now = utcnow()
    membership = sa.and_(TenantUser.user_id == User.id, TenantUser.tenant_id == tenant_id)
    row = (
        await db.execute(
            sa.select(UserSession, User, TenantUser.role)
            .join(User, User.id == UserSession.user_id)
            .outerjoin(TenantUser, membership if tenant_id is not None else sa.false())
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
    session, user, role = row
    return ActiveSession(session=session, user=user, role=role)


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


async def delete_ended_sessions(
    db: AsyncSession, *, now: datetime, keep_ended_for: timedelta = timedelta(days=30)
) -> int:
    """Delete sessions that expired, or were signed out, more than ``keep_ended_for`` ago
    (kept that long for the record). Returns how many went."""
    cutoff = now - keep_ended_for
    result = await db.execute(
        sa.delete(UserSession).where(
            sa.or_(
                UserSession.expires_at < cutoff,
                sa.and_(UserSession.is_active.is_(False), UserSession.last_seen_at < cutoff),
            )
        )
    )
    return result.rowcount or 0
