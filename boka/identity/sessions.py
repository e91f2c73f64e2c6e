"""Sign-in sessions: start, resolve from a token, list, rotate, revoke, clean up.

A session ends at ``expires_at`` (absolute) or after ``idle`` without use, whichever is first.
Tokens are shown once; only their SHA-256 is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import BOOKKEEPING
from boka.errors import NotFound
from boka.identity.devices import DeviceInfo
from boka.identity.tokens import new_session_token, token_digest
from boka.models.identity import User, UserSession
from boka.models.security import SecuritySettings
from boka.models.tenancy import Role, TenantUser
from boka.models.types import utcnow
from boka.pagination import Page, keyset_page

# last_seen_at is written at most this often per session, not on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# Ended sessions are kept this long (for "where was I signed in") before cleanup deletes them.
KEEP_ENDED_SESSIONS = timedelta(days=30)


@dataclass(frozen=True)
class IssuedSession:
    token: str  # shown to the client once; only its digest is stored
    session: UserSession


async def start_session(
    db: AsyncSession,
    user: User,
    *,
    tenant_id: uuid.UUID | None,
    device: DeviceInfo,
    ttl: timedelta,
    mfa_verified: bool = False,
) -> IssuedSession:
    token = new_session_token()
    now = utcnow()
    session = UserSession(
        token_hash=token_digest(token),
        user_id=user.id,
        tenant_id=tenant_id,
        ip_address=device.ip_address,
        user_agent=(device.user_agent or "")[:512] or None,
        device_fingerprint=device.fingerprint,
        mfa_verified_at=now if mfa_verified else None,
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
    security: SecuritySettings | None  # that tenant's security policy, if it has one


def is_live(now: datetime, idle: timedelta) -> sa.ColumnElement[bool]:
    return sa.and_(
        UserSession.is_active.is_(True),
        UserSession.expires_at > now,
        UserSession.last_seen_at > now - idle,
    )


async def find_active_session(
    db: AsyncSession, token: str, tenant_id: uuid.UUID | None, *, idle: timedelta
) -> ActiveSession | None:
    """The live session for ``token`` with its user, their role in ``tenant_id`` and the
    tenant's security policy, in one query; None if the token is unknown, revoked, expired or
    idle too long, or the user is disabled."""
    now = utcnow()
    in_tenant = tenant_id is not None
    membership = sa.and_(TenantUser.user_id == User.id, TenantUser.tenant_id == tenant_id)
    row = (
        await db.execute(
            sa.select(UserSession, User, TenantUser.role, SecuritySettings)
            .join(User, User.id == UserSession.user_id)
            .outerjoin(TenantUser, membership if in_tenant else sa.false())
            .outerjoin(
                SecuritySettings, SecuritySettings.tenant_id == tenant_id if in_tenant else sa.false()
            )
            .where(
                UserSession.token_hash == token_digest(token),
                is_live(now, idle),
                User.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    session, user, role, security = row
    return ActiveSession(session=session, user=user, role=role, security=security)


async def touch_session(db: AsyncSession, session_id: uuid.UUID) -> None:
    await db.execute(
        sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow())
        .execution_options(**{BOOKKEEPING: True})
    )


async def end_session(db: AsyncSession, session_id: uuid.UUID) -> None:
    await db.execute(
        sa.update(UserSession)
        .where(UserSession.id == session_id, UserSession.is_active.is_(True))
        .values(is_active=False, revoked_at=utcnow())
    )


async def list_sessions(
    db: AsyncSession, user_id: uuid.UUID, *, idle: timedelta,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[UserSession]:
    """The user's live sessions, newest first."""
    statement = sa.select(UserSession).where(UserSession.user_id == user_id, is_live(utcnow(), idle))
    return await keyset_page(
        db, statement, sort_column=UserSession.created_at, id_column=UserSession.id,
        first=first, after=after, last=last, before=before, descending=True,
    )


async def revoke_session(db: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> UserSession:
    """End one of the user's own sessions (another device, say)."""
    session = (
        await db.execute(
            sa.select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user_id)
        )
    ).scalar_one_or_none()
    if session is None:
        raise NotFound("No such session.")
    if session.is_active:
        session.is_active = False
        session.revoked_at = utcnow()
    return session


async def revoke_other_sessions(db: AsyncSession, user_id: uuid.UUID, keep: uuid.UUID | None) -> int:
    """End every live session of the user except ``keep``; how many were ended."""
    statement = (
        sa.update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.is_active.is_(True))
        .values(is_active=False, revoked_at=utcnow())
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    return (await db.execute(statement)).rowcount


async def rotate_session_token(db: AsyncSession, session_id: uuid.UUID, ttl: timedelta) -> IssuedSession:
    """A new token for the same session (the old one stops working at once) and a new
    absolute expiry: how a client keeps a long-lived sign-in without holding one token forever."""
    session = await db.get(UserSession, session_id, with_for_update=db.bind.dialect.name == "postgresql")
    if session is None or not session.is_active:
        raise NotFound("No such session.")
    token = new_session_token()
    now = utcnow()
    session.token_hash = token_digest(token)
    session.expires_at = now + ttl
    session.last_seen_at = now
    await db.flush()
    return IssuedSession(token=token, session=session)


async def device_seen_before(db: AsyncSession, user_id: uuid.UUID, fingerprint: str) -> tuple[bool, bool]:
    """(has the user any earlier session, was one of them from this device)."""
    earlier = sa.select(UserSession.id).where(UserSession.user_id == user_id)
    same_device = earlier.where(UserSession.device_fingerprint == fingerprint)
    row = (await db.execute(sa.select(sa.exists(earlier), sa.exists(same_device)))).one()
    return bool(row[0]), bool(row[1])


async def delete_expired_sessions(db: AsyncSession, *, now: datetime, idle: timedelta) -> int:
    """Cleanup: delete sessions that ended (expired, idle or revoked) over 30 days ago."""
    cutoff = now - KEEP_ENDED_SESSIONS
    statement = sa.delete(UserSession).where(
        sa.or_(
            UserSession.expires_at < cutoff,
            UserSession.last_seen_at < cutoff - idle,
            sa.and_(UserSession.is_active.is_(False), UserSession.revoked_at < cutoff),
        )
    )
    return (await db.execute(statement)).rowcount


async def sessions_by_ids(
    db: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID], *, idle: timedelta
) -> dict[uuid.UUID, UserSession]:
    """Of ``ids``, the user's own live sessions (what mySessions lists)."""
    statement = sa.select(UserSession).where(
        UserSession.id.in_(ids), UserSession.user_id == user_id, is_live(utcnow(), idle)
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}
