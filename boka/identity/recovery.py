"""Account recovery and email verification.

Asking for a password reset answers the same whether or not the address has an account, in
the same time: the request only checks that it is an email address and enqueues a job; the
job looks the address up, issues the token and sends the mail (boka/jobs/account_mail.py). So
the answer's content and timing never depend on the account (bench/password_reset_timing.py
measures it, as bench/sign_in_timing.py does for refused sign-ins), and the token never
travels through the queue.

A reset link is good once, for ``BOKA_PASSWORD_RESET_MINUTES`` (30 by default). Using it sets
the new password, ends every session of the account and, when the account has two-factor
authentication on, needs a code too (a reset never bypasses MFA, ASVS 6.4.3); a wrong code is
counted toward the MFA block like a wrong code at sign-in, and the link stays usable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database
from boka.errors import UserInputError
from boka.identity.account_tokens import invalid_link, issue_account_token, live_account_token
from boka.identity.accounts import find_user_by_email, normalize_email
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.lockout import clear_failures
from boka.identity.mfa import CodeCheck, MfaPolicy, confirm_second_factor
from boka.identity.passwords import check_password_strength, hash_password
from boka.identity.principal import Principal
from boka.identity.sessions import revoke_other_sessions
from boka.identity.suspicious import email_fingerprint
from boka.models.identity import User
from boka.models.onboarding import TokenPurpose


@dataclass(frozen=True)
class ResetRequested:
    email: str  # as normalised; "" when it was not an address at all
    token: str | None  # None when no active account has this address: nothing is mailed


async def request_password_reset(
    database: Database, *, email: str, tenant_id: uuid.UUID | None, device: DeviceInfo,
    ttl: timedelta, now: datetime,
) -> ResetRequested:
    """Issue a reset token if an active account has ``email`` (in the job, not the request)."""
    email = normalize_email(email)
    async with database.transaction(tenant_id, write=True) as db:
        user = await find_user_by_email(db, email)
        token = None
        if user is not None and user.is_active:
            token = await issue_account_token(db, user, TokenPurpose.PASSWORD_RESET, ttl=ttl, now=now)
        log_event(db, AuthEvent.PASSWORD_RESET_REQUESTED, origin=device, success=token is not None,
                  user_id=user.id if user else None, tenant_id=tenant_id,
                  details={"email": email_fingerprint(email)})
    return ResetRequested(email=email, token=token)


async def reset_password(
    database: Database, policy: MfaPolicy, *, token: str, new_password: str, mfa_code: str | None,
    device: DeviceInfo, now: datetime,
) -> User:
    """Set a new password with a reset link; every session of the account ends."""
    try:
        check_password_strength(new_password)
    except UserInputError as error:
        raise UserInputError(error.code, error.message, "newPassword") from error
    failed: CodeCheck | None = None
    async with database.transaction(write=True) as db:
        link = await live_account_token(db, token, TokenPurpose.PASSWORD_RESET, now)
        user = await db.get(User, link.user_id)
        if user is None or not user.is_active or user.email != link.email:
            raise invalid_link()
        failed = await confirm_second_factor(
            db, user.id, mfa_code, policy, now, device=device,
            failed_event=AuthEvent.PASSWORD_RESET_FAILED, failure_reason="mfa ",
        )
        if failed is None:
            link.used_at = now
            user.password_hash = await hash_password(new_password)
            ended = await revoke_other_sessions(db, user.id, keep=None)
            await clear_failures(db, user.id)  # proven by the mailbox (and the second factor)
            log_event(db, AuthEvent.PASSWORD_RESET, origin=device, success=True, user_id=user.id,
                      details={"sessions_ended": ended})
            return user
    assert failed is not None
    raise _code_error(failed, policy)  # after the commit: the failure stays counted


def _code_error(check: CodeCheck, policy: MfaPolicy) -> UserInputError:
    error = check.error(policy)
    return UserInputError(error.code, error.message, "mfaCode")


async def verify_email(db: AsyncSession, *, token: str, now: datetime, device: DeviceInfo) -> User:
    """The holder opened the mailed link: the address it was sent to is theirs."""
    link = await live_account_token(db, token, TokenPurpose.VERIFY_EMAIL, now)
    user = await db.get(User, link.user_id)
    if user is None or user.email != link.email:
        raise invalid_link("This link was for an address the account no longer uses.")
    link.used_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now
    log_event(db, AuthEvent.EMAIL_VERIFIED, origin=device, success=True, user_id=user.id)
    return user


async def resend_verification(
    db: AsyncSession, principal: Principal, *, ttl: timedelta, now: datetime, device: DeviceInfo
) -> tuple[User, str | None]:
    """A new verification link for the signed-in account (None when it is verified already)."""
    user = await db.get(User, principal.require_user().id)
    assert user is not None
    if user.email_verified_at is not None:
        return user, None
    token = await issue_account_token(db, user, TokenPurpose.VERIFY_EMAIL, ttl=ttl, now=now)
    tenant = principal.tenant
    log_event(db, AuthEvent.EMAIL_VERIFICATION_SENT, origin=device, success=True, user_id=user.id,
              tenant_id=tenant.id if tenant else None)
    return user, token
