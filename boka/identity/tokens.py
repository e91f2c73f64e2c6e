"""Opaque bearer secrets: generated with ``secrets``, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets

SESSION_TOKEN_PREFIX = "bks_"


def new_session_token() -> str:
    return SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
