"""Signing up and signing in, with lockout, MFA challenges and the audit trail.

Sign-in opens its own transactions: a failure must be remembered (counted toward a lock,
written to the trail) even though the caller is told only "Email or password is incorrect".
Every refusal costs the same: one argon2 verification and one write, whether the email is
unknown, the password wrong or the account locked, so neither the answer nor its timing
tells an attacker which it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database, scope_to_tenant
from boka.errors import UserErrorCode, UserInputError
from boka.identity.accounts import (
    INVALID_CREDENTIALS_MESSAGE,
    find_user_by_email,
    normalize_email,
    register_user,
)
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.lockout import clear_failures, is_locked, load_lockout, record_failed_sign_in
from boka.identity.memberships import add_membership, find_membership
from boka.identity.mfa import CodeCheck, check_code, find_factor
from boka.identity.passwords import hash_password, needs_rehash, verify_password
from boka.identity.policy import IdentityPolicy
from boka.identity.principal import Principal
from boka.identity.sessions import IssuedSession, start_session
from boka.identity.suspicious import email_fingerprint, note_failure_burst, note_new_device
from boka.identity.tenant_policy import restriction_for
from boka.identity.tokens import new_session_token, token_digest
from boka.models.identity import User
from boka.models.security import MfaChallenge, SecuritySettings
from boka.models.tenancy import Role, Tenant
from boka.models.types import utcnow

MFA_CHALLENGE_PREFIX = "bkc_"


@dataclass(frozen=True)
class SignedIn:
    issued: IssuedSession
    principal: Principal  # who the new session speaks for, in the request's tenant


@dataclass(frozen=True)
class MfaRequired:
    """The password was right; a code from the authenticator (or a backup code) finishes it."""

    challenge: str  # shown once; completeMfaSignIn takes it with the code
    expires_at: datetime


async def sign_up(
    db: AsyncSession, policy: IdentityPolicy, *, tenant: Tenant | None, email: str, password: str,
    full_name: str, device: DeviceInfo,
) -> SignedIn:
    """Create an account and sign it in. Inside a tenant, the account becomes its customer."""
    user = await register_user(db, email=email, password=password, full_name=full_name)
    role = None
    if tenant is not None:
        role = Role.CUSTOMER
        await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=role)
    issued = await start_session(
        db, user, tenant_id=tenant.id if tenant else None, device=device, ttl=policy.session_ttl
    )
    log_event(db, AuthEvent.SIGN_IN, origin=device, success=True, user_id=user.id,
              tenant_id=tenant.id if tenant else None, details={"registered": True})
    return SignedIn(issued, Principal.build(user=user, session_id=issued.session.id, tenant=tenant, role=role))


async def sign_in(
    database: Database, policy: IdentityPolicy, *, tenant: Tenant | None, email: str,
    password: str, device: DeviceInfo,
) -> SignedIn | MfaRequired:
    """Check the password; open a session, or an MFA challenge when the account has MFA on."""
    tenant_id = tenant.id if tenant else None
    try:
        email = normalize_email(email)
    except UserInputError:
        email = ""
    async with database.transaction(tenant_id) as db:
        user = await find_user_by_email(db, email) if email else None
        lockout = await load_lockout(db, user.id) if user else None
    password_ok = await verify_password(user.password_hash if user else None, password)
    now = utcnow()
    refusal = _refusal(user, password_ok, locked=is_locked(lockout, now))
    if refusal is not None:
        await _remember_failure(database, policy, user, email, refusal, tenant_id, device, now)
        raise UserInputError(UserErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
    assert user is not None
    async with database.transaction(tenant_id, write=True) as db:
        await clear_failures(db, user.id)
        if user.password_hash and needs_rehash(user.password_hash):
            await db.execute(
                sa.update(User).where(User.id == user.id).values(password_hash=await hash_password(password))
            )
        factor = await find_factor(db, user.id)
        if factor is not None and factor.is_enabled:
            return await _challenge(db, policy, user, tenant_id, device, now)
        return await open_session(db, policy, user, tenant, device, mfa_verified=False)


def _refusal(user: User | None, password_ok: bool, *, locked: bool) -> str | None:
    if user is None:
        return "unknown email"
    if not user.is_active:
        return "account disabled"
    if locked:
        return "account locked"
    if not password_ok:
        return "wrong password"
    return None


async def _remember_failure(
    database: Database, policy: IdentityPolicy, user: User | None, email: str, reason: str,
    tenant_id: uuid.UUID | None, device: DeviceInfo, now: datetime,
) -> None:
    # Across all tenants: a burst from one address is counted whichever storefronts it hits.
    async with database.transaction(write=True, all_tenants=True) as db:
        locked_now = False
        if reason == "wrong password" and user is not None:
            locked_now = await record_failed_sign_in(db, user.id, policy.lockout, now)
        log_event(
            db, AuthEvent.SIGN_IN_FAILED, origin=device, success=False,
            user_id=user.id if user else None, tenant_id=tenant_id, reason=reason,
            details={"email": email_fingerprint(email)},
        )
        if locked_now:
            assert user is not None
            log_event(db, AuthEvent.ACCOUNT_LOCKED, origin=device, success=False, user_id=user.id,
                      tenant_id=tenant_id, suspicious=True,
                      reason=f"{policy.lockout.threshold} failed sign-ins in a row")
        await note_failure_burst(db, device=device, tenant_id=tenant_id, now=now, threshold=policy.failure_burst)


async def _challenge(
    db: AsyncSession, policy: IdentityPolicy, user: User, tenant_id: uuid.UUID | None,
    device: DeviceInfo, now: datetime,
) -> MfaRequired:
    token = MFA_CHALLENGE_PREFIX + new_session_token().removeprefix("bks_")
    challenge = MfaChallenge(
        token_hash=token_digest(token), user_id=user.id, tenant_id=tenant_id,
        ip_address=device.ip_address, user_agent=(device.user_agent or "")[:512] or None,
        device_fingerprint=device.fingerprint, expires_at=now + policy.challenge_ttl, created_at=now,
    )
    db.add(challenge)
    log_event(db, AuthEvent.MFA_CHALLENGE, origin=device, success=True, user_id=user.id, tenant_id=tenant_id)
    await db.flush()
    return MfaRequired(challenge=token, expires_at=challenge.expires_at)


async def complete_mfa_sign_in(
    database: Database, policy: IdentityPolicy, *, challenge: str, code: str, device: DeviceInfo
) -> SignedIn:
    """The second step: a valid code (TOTP or backup) turns the challenge into a session."""
    now = utcnow()
    async with database.transaction(write=True) as db:
        pending = await _live_challenge(db, challenge, now)
        if pending is None:
            raise UserInputError(
                UserErrorCode.MFA_CHALLENGE_EXPIRED, "This sign-in has expired; enter your password again."
            )
        await scope_to_tenant(db, pending.tenant_id)  # the sign-in continues in its tenant
        factor = await find_factor(db, pending.user_id, for_update=True)
        user = await db.get(User, pending.user_id)
        if factor is None or not factor.is_enabled or user is None or not user.is_active:
            raise UserInputError(UserErrorCode.MFA_CHALLENGE_EXPIRED, "This sign-in is no longer valid.")
        check = await check_code(db, factor, code, policy.mfa, now)
        _log_code_check(db, check, user.id, pending.tenant_id, device)
        if check.accepted:
            pending.used_at = now
            tenant = await db.get(Tenant, pending.tenant_id) if pending.tenant_id else None
            return await open_session(db, policy, user, tenant, device, mfa_verified=True)
    raise check.error(policy.mfa)  # after the commit: the failure stays counted


async def _live_challenge(db: AsyncSession, token: str, now: datetime) -> MfaChallenge | None:
    statement = sa.select(MfaChallenge).where(
        MfaChallenge.token_hash == token_digest(token),
        MfaChallenge.used_at.is_(None),
        MfaChallenge.expires_at > now,
    )
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await db.execute(statement)).scalar_one_or_none()


def _log_code_check(
    db: AsyncSession, check: CodeCheck, user_id: uuid.UUID, tenant_id: uuid.UUID | None, device: DeviceInfo
) -> None:
    if check is CodeCheck.BACKUP_CODE:
        log_event(db, AuthEvent.BACKUP_CODE_USED, origin=device, success=True, user_id=user_id, tenant_id=tenant_id)
    elif not check.accepted:
        log_event(db, AuthEvent.MFA_FAILED, origin=device, success=False, user_id=user_id,
                  tenant_id=tenant_id, reason=check.value)
        if check is CodeCheck.NOW_BLOCKED:
            log_event(db, AuthEvent.MFA_BLOCKED, origin=device, success=False, user_id=user_id,
                      tenant_id=tenant_id, suspicious=True)


async def open_session(
    db: AsyncSession, policy: IdentityPolicy, user: User, tenant: Tenant | None,
    device: DeviceInfo, *, mfa_verified: bool,
) -> SignedIn:
    """A new session for ``user``, with its role and restrictions in ``tenant``."""
    tenant_id = tenant.id if tenant else None
    new_device = await note_new_device(db, user_id=user.id, tenant_id=tenant_id, device=device)
    issued = await start_session(
        db, user, tenant_id=tenant_id, device=device, ttl=policy.session_ttl, mfa_verified=mfa_verified
    )
    log_event(db, AuthEvent.SIGN_IN, origin=device, success=True, user_id=user.id, tenant_id=tenant_id,
              details={"mfa": mfa_verified, "new_device": new_device})
    membership = await find_membership(db, tenant_id=tenant.id, user_id=user.id) if tenant else None
    security = await db.get(SecuritySettings, tenant.id) if tenant else None
    role = membership.role if membership else None
    principal = Principal.build(
        user=user, session_id=issued.session.id, tenant=tenant, role=role,
        restriction=restriction_for(role, security, ip_address=device.ip_address, mfa_verified=mfa_verified),
    )
    return SignedIn(issued, principal)


