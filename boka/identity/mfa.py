"""TOTP multi-factor authentication: enrolment, verification, backup codes, blocking.

A code is accepted at most once: the factor remembers the newest time step it accepted and an
atomic UPDATE only moves forward, so a replayed code (or two racing requests with one code)
gets in once. Backup codes are single-use by the same UPDATE-WHERE-unused rule. Wrong codes are
counted per user; too many block the factor for a while. Verification never raises for a wrong
code: it returns a ``CodeCheck`` so the caller can commit the counted failure before refusing.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.config import Settings
from boka.errors import UserErrorCode, UserInputError
from boka.identity import totp
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.secret_box import SecretBox
from boka.models.identity import User
from boka.models.security import MfaBackupCode, MultiFactorAuth

BACKUP_CODE_COUNT = 10
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


@dataclass(frozen=True)
class MfaPolicy:
    box: SecretBox
    max_failures: int
    block_for: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> MfaPolicy:
        return cls(
            box=SecretBox.from_settings(settings),
            max_failures=settings.mfa_max_failures,
            block_for=timedelta(minutes=settings.mfa_block_minutes),
        )


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an app by hand
    uri: str  # otpauth://, for a QR code


class CodeCheck(enum.Enum):
    TOTP = "totp"
    BACKUP_CODE = "backup_code"
    WRONG = "wrong"
    BLOCKED = "blocked"  # refused without looking: the factor is blocked
    NOW_BLOCKED = "now_blocked"  # wrong, and that was one too many

    @property
    def accepted(self) -> bool:
        return self in (CodeCheck.TOTP, CodeCheck.BACKUP_CODE)

    def error(self, policy: MfaPolicy) -> UserInputError:
        if self in (CodeCheck.BLOCKED, CodeCheck.NOW_BLOCKED):
            minutes = int(policy.block_for.total_seconds() // 60)
            return UserInputError(
                UserErrorCode.MFA_BLOCKED,
                f"Too many wrong codes. Two-factor sign-in is blocked for up to {minutes} minutes.",
                "code",
            )
        return UserInputError(UserErrorCode.MFA_INVALID_CODE, "That code is not valid.", "code")


async def find_factor(db: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> MultiFactorAuth | None:
    statement = sa.select(MultiFactorAuth).where(MultiFactorAuth.user_id == user_id)
    if for_update and db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await db.execute(statement)).scalar_one_or_none()


async def has_mfa(db: AsyncSession, user_id: uuid.UUID) -> bool:
    factor = await find_factor(db, user_id)
    return factor is not None and factor.is_enabled


async def begin_enrolment(db: AsyncSession, user: User, policy: MfaPolicy, *, issuer: str) -> Enrolment:
    """A new secret, not yet active: a first good code turns it on (``enable_mfa``)."""
    factor = await find_factor(db, user.id, for_update=True)
    if factor is not None and factor.is_enabled:
        raise UserInputError(
            UserErrorCode.MFA_ALREADY_ENABLED, "Two-factor authentication is already on."
        )
    secret = totp.new_secret()
    if factor is None:
        factor = MultiFactorAuth(user_id=user.id, secret_encrypted=policy.box.seal(secret))
        db.add(factor)
    else:
        factor.secret_encrypted = policy.box.seal(secret)
        factor.last_used_step = None
        factor.failure_count = 0
        factor.blocked_until = None
    await db.flush()
    return Enrolment(secret=secret, uri=totp.provisioning_uri(secret, user.email, issuer))


async def check_code(
    db: AsyncSession, factor: MultiFactorAuth, code: str, policy: MfaPolicy, now: datetime,
    *, allow_backup_code: bool = True,
) -> CodeCheck:
    """Verify a TOTP or backup code for ``factor`` (locked by the caller), counting failures."""
    if factor.blocked_until is not None and factor.blocked_until > now:
        return CodeCheck.BLOCKED
    outcome = await _try_totp(db, factor, code, policy, now)
    if outcome is None and allow_backup_code and factor.is_enabled:
        outcome = await _try_backup_code(db, factor.user_id, code, now)
    if outcome is not None:
        factor.failure_count = 0
        factor.blocked_until = None
        factor.last_used_at = now
        return outcome
    factor.failure_count += 1
    if factor.failure_count >= policy.max_failures:
        factor.failure_count = 0
        factor.blocked_until = now + policy.block_for
        return CodeCheck.NOW_BLOCKED
    return CodeCheck.WRONG


async def _try_totp(
    db: AsyncSession, factor: MultiFactorAuth, code: str, policy: MfaPolicy, now: datetime
) -> CodeCheck | None:
    step = totp.matching_step(policy.box.open(factor.secret_encrypted), code, now)
    if step is None:
        return None
    # Only forward: a step at or before the last accepted one is a replay.
    moved = await db.execute(
        sa.update(MultiFactorAuth)
        .where(
            MultiFactorAuth.id == factor.id,
            sa.or_(MultiFactorAuth.last_used_step.is_(None), MultiFactorAuth.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return None
    factor.last_used_step = step
    return CodeCheck.TOTP


def _backup_digest(user_id: uuid.UUID, code: str) -> str:
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"{user_id}:{normalized}".encode()).hexdigest()


async def _try_backup_code(db: AsyncSession, user_id: uuid.UUID, code: str, now: datetime) -> CodeCheck | None:
    used = await db.execute(
        sa.update(MfaBackupCode)
        .where(
            MfaBackupCode.user_id == user_id,
            MfaBackupCode.code_hash == _backup_digest(user_id, code),
            MfaBackupCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return CodeCheck.BACKUP_CODE if used.rowcount == 1 else None


def _new_backup_code() -> str:
    raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


async def replace_backup_codes(db: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """Ten fresh single-use codes (shown once), replacing any earlier ones."""
    await db.execute(sa.delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    codes = [_new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    db.add_all(MfaBackupCode(user_id=user_id, code_hash=_backup_digest(user_id, code)) for code in codes)
    await db.flush()
    return codes


async def remaining_backup_codes(db: AsyncSession, user_id: uuid.UUID) -> int:
    count = await db.execute(
        sa.select(sa.func.count()).where(MfaBackupCode.user_id == user_id, MfaBackupCode.used_at.is_(None))
    )
    return int(count.scalar_one())


async def remove_factor(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(sa.delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    await db.execute(sa.delete(MultiFactorAuth).where(MultiFactorAuth.user_id == user_id))


def require_enrolled(factor: MultiFactorAuth | None, *, enabled: bool) -> MultiFactorAuth:
    if factor is None or factor.is_enabled != enabled:
        if enabled:
            raise UserInputError(UserErrorCode.MFA_NOT_ENROLLED, "Two-factor authentication is off.")
        raise UserInputError(
            UserErrorCode.MFA_NOT_ENROLLED if factor is None else UserErrorCode.MFA_ALREADY_ENABLED,
            "Start enrolment first." if factor is None else "Two-factor authentication is already on.",
        )
    return factor


async def confirm_second_factor(
    db: AsyncSession, user_id: uuid.UUID, code: str | None, policy: MfaPolicy, now: datetime, *,
    device: DeviceInfo, failed_event: AuthEvent, failure_reason: str,
    tenant_id: uuid.UUID | None = None,
) -> CodeCheck | None:
    """For an account action that must not bypass two-factor authentication (a password reset,
    an email change, deleting the account): None when the account has no second factor or
    ``code`` passes; an MFA_REQUIRED user error when it has one and no code came; else the
    failed check, with the failure (and a block it caused) already in the audit trail. The
    caller commits that before raising the check's error, so the failure stays counted."""
    factor = await find_factor(db, user_id, for_update=True)
    if factor is None or not factor.is_enabled:
        return None
    if not (code or "").strip():
        raise UserInputError(
            UserErrorCode.MFA_REQUIRED,
            "This account has two-factor authentication: enter a code from your "
            "authenticator app or a backup code.", "mfaCode",
        )
    check = await check_code(db, factor, code or "", policy, now)
    if check.accepted:
        return None
    log_event(db, failed_event, origin=device, success=False, user_id=user_id, tenant_id=tenant_id,
              reason=f"{failure_reason}{check.value}")
    if check is CodeCheck.NOW_BLOCKED:
        log_event(db, AuthEvent.MFA_BLOCKED, origin=device, success=False, user_id=user_id,
                  tenant_id=tenant_id, suspicious=True)
    return check
