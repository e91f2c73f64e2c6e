"""Signed tokens that name one id for one purpose, so that a link can carry them: nothing is
stored, and changing BOKA_SECRET_KEY revokes every token.

A token is ``<prefix><id>.<signature>``: the id's 16 bytes and the first 24 bytes of
HMAC-SHA256(secret key, purpose + id bytes), both base64url without padding. The purpose is
signed, not written, so a token for one purpose never passes for another even where the prefix
would be swapped. Used by the guest booking links and waitlist claim links
(boka/booking/links.py) and the unsubscribe links (boka/notifications/preferences.py); their
tokens have been sent in messages already, so the format must not change (tests/test_signed_tokens.py
pins it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass

SIGNATURE_BYTES = 24


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SignedIdToken:
    """One kind of token: its visible prefix and its signed purpose."""

    prefix: str
    purpose: bytes

    def _signature(self, secret: str, id_: uuid.UUID) -> str:
        digest = hmac.new(secret.encode(), self.purpose + id_.bytes, hashlib.sha256).digest()
        return _encode(digest[:SIGNATURE_BYTES])

    def sign(self, secret: str, id_: uuid.UUID) -> str:
        return f"{self.prefix}{_encode(id_.bytes)}.{self._signature(secret, id_)}"

    def verify(self, secret: str, token: str) -> uuid.UUID | None:
        """The id a token names, or None if it is not this kind, malformed, or its signature is
        wrong."""
        if not token.startswith(self.prefix) or "." not in token:
            return None
        encoded_id, signature = token[len(self.prefix):].split(".", 1)
        try:
            id_ = uuid.UUID(bytes=_decode(encoded_id))
        except ValueError:
            return None
        if not hmac.compare_digest(signature.encode(), self._signature(secret, id_).encode()):
            return None
        return id_
