"""A signed-in user turning MFA on and off and renewing backup codes. Each step that takes a
code counts a wrong one before refusing (committed, then raised), like sign-in does."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.mfa import (
    CodeCheck,
    Enrolment,
    MfaPolicy,
    begin_enrolment,
    check_code,
    find_factor,
    remove_factor,
    replace_backup_codes,
    require_enrolled,
)
from boka.models.identity import User, UserSession
from boka.models.security import MultiFactorAuth
from boka.models.types import utcnow

T = TypeVar("T")


async def enroll_mfa(database: Database, policy: MfaPolicy, user: User, *, issuer: str) -> Enrolment:
    async with database.transaction(write=True) as db:
        return await begin_enrolment(db, user, policy, issuer=issuer)


async def enable_mfa(
    database: Database, policy: MfaPolicy, user: User, *, code: str, session_id: uuid.UUID | None,
    device: DeviceInfo,
) -> list[str]:
    """The first good code turns the factor on; returns the ten backup codes (shown once).
    The session that did it counts as verified from now on."""

    async def turn_on(db: AsyncSession, factor: MultiFactorAuth) -> list[str]:
        now = utcnow()
        factor.is_enabled = True
        factor.verified_at = now
        if session_id is not None:
            await db.execute(sa.update(UserSession).where(UserSession.id == session_id).values(mfa_verified_at=now))
        log_event(db, AuthEvent.MFA_ENABLED, origin=device, success=True, user_id=user.id)
        return await replace_backup_codes(db, user.id)

    return await _with_code(database, policy, user, code, device, enabled=False, then=turn_on)


async def disable_mfa(database: Database, policy: MfaPolicy, user: User, *, code: str, device: DeviceInfo) -> None:
    """Turning MFA off takes a fresh code (or a backup code), not just a session."""

    async def turn_off(db: AsyncSession, factor: MultiFactorAuth) -> None:
        await remove_factor(db, user.id)
        log_event(db, AuthEvent.MFA_DISABLED, origin=device, success=True, user_id=user.id)

    await _with_code(database, policy, user, code, device, enabled=True, then=turn_off)


async def renew_backup_codes(
    database: Database, policy: MfaPolicy, user: User, *, code: str, device: DeviceInfo
) -> list[str]:
    async def renew(db: AsyncSession, factor: MultiFactorAuth) -> list[str]:
        return await replace_backup_codes(db, user.id)

    return await _with_code(database, policy, user, code, device, enabled=True, then=renew)


async def _with_code(
    database: Database, policy: MfaPolicy, user: User, code: str, device: DeviceInfo, *,
    enabled: bool, then: Callable[[AsyncSession, MultiFactorAuth], Awaitable[T]],
) -> T:
    async with database.transaction(write=True) as db:
        factor = require_enrolled(await find_factor(db, user.id, for_update=True), enabled=enabled)
        check = await check_code(db, factor, code, policy, utcnow(), allow_backup_code=enabled)
        if check.accepted:
            return await then(db, factor)
        log_event(db, AuthEvent.MFA_FAILED, origin=device, success=False, user_id=user.id, reason=check.value)
        if check is CodeCheck.NOW_BLOCKED:
            log_event(db, AuthEvent.MFA_BLOCKED, origin=device, success=False, user_id=user.id, suspicious=True)
    raise check.error(policy)
