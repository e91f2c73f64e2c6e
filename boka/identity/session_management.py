"""What a signed-in user does with their sessions and password: list, revoke, refresh,
change the password (which ends every other session)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from boka.db import Database
from boka.errors import UserErrorCode, UserInputError
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.passwords import check_password_strength, hash_password, verify_password
from boka.identity.principal import Principal
from boka.identity.sessions import (
    IssuedSession,
    revoke_other_sessions,
    revoke_session,
    rotate_session_token,
)
from boka.models.identity import User, UserSession


async def revoke_my_session(
    database: Database, principal: Principal, session_id: uuid.UUID, device: DeviceInfo
) -> UserSession:
    user = principal.require_user()
    async with database.transaction(write=True) as db:
        session = await revoke_session(db, user.id, session_id)
        log_event(db, AuthEvent.SESSION_REVOKED, origin=device, success=True, user_id=user.id,
                  details={"session_id": str(session_id)})
        return session


async def revoke_my_other_sessions(database: Database, principal: Principal, device: DeviceInfo) -> int:
    user = principal.require_user()
    async with database.transaction(write=True) as db:
        ended = await revoke_other_sessions(db, user.id, keep=principal.session_id)
        log_event(db, AuthEvent.SESSION_REVOKED, origin=device, success=True, user_id=user.id,
                  details={"others": ended})
        return ended


async def refresh_my_session(
    database: Database, principal: Principal, ttl: timedelta, device: DeviceInfo
) -> IssuedSession:
    user = principal.require_user()
    if principal.session_id is None:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Only a session can be refreshed.")
    async with database.transaction(write=True) as db:
        issued = await rotate_session_token(db, principal.session_id, ttl)
        log_event(db, AuthEvent.SESSION_REFRESHED, origin=device, success=True, user_id=user.id)
        return issued


async def change_password(
    database: Database, principal: Principal, *, current: str, new: str, device: DeviceInfo
) -> int:
    """Needs the current password; ends every other session. How many were ended."""
    user = principal.require_user()
    async with database.transaction() as db:
        stored = await db.get(User, user.id)
    if stored is None or not await verify_password(stored.password_hash, current):
        raise UserInputError(UserErrorCode.INVALID_CREDENTIALS, "The current password is incorrect.", "currentPassword")
    check_password_strength(new)
    new_hash = await hash_password(new)
    async with database.transaction(write=True) as db:
        fresh = await db.get(User, user.id)
        assert fresh is not None
        fresh.password_hash = new_hash
        ended = await revoke_other_sessions(db, user.id, keep=principal.session_id)
        log_event(db, AuthEvent.PASSWORD_CHANGED, origin=device, success=True, user_id=user.id,
                  details={"sessions_ended": ended})
        return ended
