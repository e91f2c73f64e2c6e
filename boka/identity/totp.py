"""TOTP (RFC 6238) arithmetic on pyotp: secrets, provisioning URIs, and which time step a code
belongs to, so that each step's code is accepted once."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

DRIFT_STEPS = 1  # accept the previous and the next 30-second step as well: clocks drift
ISSUER = "Boka"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def code_for(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (counter) ``code`` is valid for within the drift window, or None."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()):  # "¹".isdigit() is True, and compare_digest refuses it
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
