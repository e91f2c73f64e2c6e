"""Signed links that let a guest (no account) view, reschedule or cancel their booking.

A token is the booking id plus an HMAC-SHA256 of it under the tenant-independent secret key;
nothing is stored, and changing BOKA_SECRET_KEY revokes every link.

Two kinds, both good for managing the booking:
- ``bkm_`` (manage): returned to whoever made the booking; it proves nothing about the email.
- ``bkp_`` (proof): only ever sent to the booking's email, so using it proves that whoever
  holds it reads that mailbox. Until then a guest's booking stays out of the list of the
  account that owns the email (``Booking.awaiting_email_proof``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import quote

TOKEN_PREFIX = "bkm_"
PROOF_PREFIX = "bkp_"
_PURPOSES = {TOKEN_PREFIX: b"manage-booking:", PROOF_PREFIX: b"prove-booking-email:"}


@dataclass(frozen=True)
class LinkedBooking:
    booking_id: uuid.UUID
    proves_email: bool  # a proof token, which only the booking's email ever received


def _signature(secret: str, booking_id: uuid.UUID, prefix: str) -> str:
    digest = hmac.new(secret.encode(), _PURPOSES[prefix] + booking_id.bytes, hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:24]).decode().rstrip("=")


def _token(secret: str, booking_id: uuid.UUID, prefix: str) -> str:
    encoded_id = base64.urlsafe_b64encode(booking_id.bytes).decode().rstrip("=")
    return f"{prefix}{encoded_id}.{_signature(secret, booking_id, prefix)}"


def manage_token(secret: str, booking_id: uuid.UUID) -> str:
    return _token(secret, booking_id, TOKEN_PREFIX)


def proof_token(secret: str, booking_id: uuid.UUID) -> str:
    """The token of the link emailed to the booking's address (never returned by the API)."""
    return _token(secret, booking_id, PROOF_PREFIX)


def linked_booking(secret: str, token: str) -> LinkedBooking | None:
    """The booking a token is for, or None if it is malformed or its signature is wrong."""
    prefix = token[:4]
    if prefix not in _PURPOSES or "." not in token:
        return None
    encoded_id, signature = token[len(prefix):].split(".", 1)
    try:
        booking_id = uuid.UUID(bytes=base64.urlsafe_b64decode(encoded_id + "=" * (-len(encoded_id) % 4)))
    except ValueError:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(secret, booking_id, prefix).encode()):
        return None
    return LinkedBooking(booking_id, proves_email=prefix == PROOF_PREFIX)


def booking_id_from_token(secret: str, token: str) -> uuid.UUID | None:
    linked = linked_booking(secret, token)
    return linked.booking_id if linked else None


def manage_url(public_url: str, token: str, tenant_slug: str) -> str:
    """The manage-booking page of a token (served by boka/web/pages.py). The token says which
    booking, not which business, so the link names the tenant too."""
    return f"{public_url.rstrip('/')}/manage/{token}?tenant={quote(tenant_slug, safe='')}"


# Waitlist offers: the claim link emailed (or texted) to the customer the time is held for.
OFFER_PREFIX = "wlo_"
_OFFER_PURPOSE = b"claim-waitlist-offer:"


def _offer_signature(secret: str, offer_id: uuid.UUID) -> str:
    digest = hmac.new(secret.encode(), _OFFER_PURPOSE + offer_id.bytes, hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:24]).decode().rstrip("=")


def offer_token(secret: str, offer_id: uuid.UUID) -> str:
    """The token of an offer's claim link; only the customer's email (or phone) receives it,
    so using it also proves the address."""
    encoded_id = base64.urlsafe_b64encode(offer_id.bytes).decode().rstrip("=")
    return f"{OFFER_PREFIX}{encoded_id}.{_offer_signature(secret, offer_id)}"


def offer_id_from_token(secret: str, token: str) -> uuid.UUID | None:
    """The offer a claim token is for, or None if it is malformed or its signature is wrong."""
    if not token.startswith(OFFER_PREFIX) or "." not in token:
        return None
    encoded_id, signature = token[len(OFFER_PREFIX):].split(".", 1)
    try:
        offer_id = uuid.UUID(bytes=base64.urlsafe_b64decode(encoded_id + "=" * (-len(encoded_id) % 4)))
    except ValueError:
        return None
    if not hmac.compare_digest(signature.encode(), _offer_signature(secret, offer_id).encode()):
        return None
    return offer_id


def claim_url(public_url: str, token: str, tenant_slug: str) -> str:
    """The page that shows an offer and claims or declines it (boka/web/pages.py)."""
    return f"{public_url.rstrip('/')}/waitlist/offer/{token}?tenant={quote(tenant_slug, safe='')}"
