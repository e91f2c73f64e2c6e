"""The identity rules' numbers, read once from settings: lifetimes, lockout, MFA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from boka.config import Settings
from boka.identity.lockout import LockoutPolicy
from boka.identity.mfa import MfaPolicy


@dataclass(frozen=True)
class IdentityPolicy:
    session_ttl: timedelta
    session_idle: timedelta
    challenge_ttl: timedelta
    lockout: LockoutPolicy
    mfa: MfaPolicy
    failure_burst: int

    @classmethod
    def from_settings(cls, settings: Settings) -> IdentityPolicy:
        return cls(
            session_ttl=timedelta(hours=settings.session_ttl_hours),
            session_idle=timedelta(minutes=settings.session_idle_minutes),
            challenge_ttl=timedelta(minutes=settings.mfa_challenge_minutes),
            lockout=LockoutPolicy.from_settings(settings),
            mfa=MfaPolicy.from_settings(settings),
            failure_burst=settings.suspicious_failure_burst,
        )
