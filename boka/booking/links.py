"""Signed links that let a guest (no account) view, reschedule or cancel their booking.

A token is the booking id plus an HMAC-SHA256 of it under the tenant-independent secret key
(boka/signed_tokens.py); nothing is stored, and changing BOKA_SECRET_KEY revokes every link.

Two kinds, both good for managing the booking:
- ``bkm_`` (manage): returned to whoever made the booking; it proves nothing about the email.
- ``bkp_`` (proof): only ever sent to the booking's email, so using it proves that whoever
  holds it reads that mailbox. Until then a guest's booking stays out of the list of the
  account that owns the email (``Booking.awaiting_email_proof``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from boka.signed_tokens import SignedIdToken

TOKEN_PREFIX = "bkm_"
PROOF_PREFIX = "bkp_"
_KINDS = {
    TOKEN_PREFIX: SignedIdToken(TOKEN_PREFIX, b"manage-booking:"),
    PROOF_PREFIX: SignedIdToken(PROOF_PREFIX, b"prove-booking-email:"),
}


@dataclass(frozen=True)
class LinkedBooking:
    booking_id: uuid.UUID
    proves_email: bool  # a proof token, which only the booking's email ever received


def manage_token(secret: str, booking_id: uuid.UUID) -> str:
    return _KINDS[TOKEN_PREFIX].sign(secret, booking_id)


def proof_token(secret: str, booking_id: uuid.UUID) -> str:
    """The token of the link emailed to the booking's address (never returned by the API)."""
    return _KINDS[PROOF_PREFIX].sign(secret, booking_id)


def linked_booking(secret: str, token: str) -> LinkedBooking | None:
    """The booking a token is for, or None if it is malformed or its signature is wrong."""
    prefix = token[:4]
    kind = _KINDS.get(prefix)
    booking_id = kind.verify(secret, token) if kind is not None else None
    if booking_id is None:
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
_OFFER = SignedIdToken(OFFER_PREFIX, b"claim-waitlist-offer:")


def offer_token(secret: str, offer_id: uuid.UUID) -> str:
    """The token of an offer's claim link; only the customer's email (or phone) receives it,
    so using it also proves the address."""
    return _OFFER.sign(secret, offer_id)


def offer_id_from_token(secret: str, token: str) -> uuid.UUID | None:
    """The offer a claim token is for, or None if it is malformed or its signature is wrong."""
    return _OFFER.verify(secret, token)


def claim_url(public_url: str, token: str, tenant_slug: str) -> str:
    """The page that shows an offer and claims or declines it (boka/web/pages.py)."""
    return f"{public_url.rstrip('/')}/waitlist/offer/{token}?tenant={quote(tenant_slug, safe='')}"
