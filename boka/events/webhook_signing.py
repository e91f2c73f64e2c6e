"""The ``Boka-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

An integrator verifies a delivery like this (Python; any language with HMAC-SHA256 will do):

    import hashlib, hmac, time

    def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(expected, parts["v1"])

Use the raw request body as received (before any JSON parsing); reject old timestamps to stop
replays; deduplicate by the ``Boka-Event-Id`` header (deliveries are at least once).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from boka.identity.secret_box import SecretBox

SIGNATURE_HEADER = "Boka-Signature"


SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def seal_secret(box: SecretBox, secret: str) -> str:
    """How a signing secret is stored: sealed (Fernet), since Boka needs it back to sign."""
    return box.seal(secret)


def reveal_secret(box: SecretBox, stored: str) -> str:
    """The signing secret from its stored form; secrets stored before sealing are plain."""
    return stored if stored.startswith(SECRET_PREFIX) else box.open(stored)
