"""Signed links that let a guest (no account) view, reschedule or cancel their booking.

A token is the booking id plus an HMAC-SHA256 of it under the tenant-independent secret key;
nothing is stored, and changing BOKA_SECRET_KEY revokes every link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

TOKEN_PREFIX = "bkm_"


def _signature(secret: str, booking_id: uuid.UUID) -> str:
    digest = hmac.new(secret.encode(), b"manage-booking:" + booking_id.bytes, hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:24]).decode().rstrip("=")


def manage_token(secret: str, booking_id: uuid.UUID) -> str:
    encoded_id = base64.urlsafe_b64encode(booking_id.bytes).decode().rstrip("=")
    return f"{TOKEN_PREFIX}{encoded_id}.{_signature(secret, booking_id)}"


def booking_id_from_token(secret: str, token: str) -> uuid.UUID | None:
    """The booking a token is for, or None if it is malformed or its signature is wrong."""
    if not token.startswith(TOKEN_PREFIX) or "." not in token:
        return None
    encoded_id, signature = token[len(TOKEN_PREFIX):].split(".", 1)
    try:
        booking_id = uuid.UUID(bytes=base64.urlsafe_b64decode(encoded_id + "=" * (-len(encoded_id) % 4)))
    except ValueError:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(secret, booking_id).encode()):
        return None
    return booking_id
