"""Secrets at rest (MFA seeds, webhook secrets, mailed tokens): Fernet tokens, with key rotation.

Keys come from BOKA_ENCRYPTION_KEYS (comma-separated Fernet keys: the first encrypts, every one
decrypts, so a new key can be put first and old data still reads). Without it, one key is
derived from BOKA_SECRET_KEY with HKDF, so the embedded mode needs no setup.

``cryptography`` (about 7 MiB resident) is imported at the first seal or open, not at start-up:
most processes never touch a sealed secret. Configured keys are still checked at construction
(a Fernet key is 32 bytes in URL-safe base64), so a bad key fails the start, not the first use.
"""

from __future__ import annotations

import base64
import binascii
from functools import cached_property
from typing import TYPE_CHECKING

from boka.config import Settings

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class SecretBox:
    def __init__(self, keys: list[bytes] | None = None, *, derive_from: str | None = None) -> None:
        if not keys and derive_from is None:
            raise ValueError("SecretBox needs at least one key")
        for key in keys or []:
            _check_fernet_key(key)
        self._keys = list(keys or [])
        self._derive_from = derive_from

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        keys = [key.strip().encode() for key in settings.encryption_keys.split(",") if key.strip()]
        return cls(keys) if keys else cls(derive_from=settings.secret_key)

    @cached_property
    def _fernet(self) -> MultiFernet:
        from cryptography.fernet import Fernet, MultiFernet

        keys = self._keys or [derive_key(self._derive_from or "")]
        return MultiFernet([Fernet(key) for key in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError("a stored secret cannot be decrypted with the configured keys") from exc


def derive_key(secret: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"boka secrets at rest").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw)


def _check_fernet_key(key: bytes) -> None:
    """What ``Fernet(key)`` checks, without importing it: 32 bytes in URL-safe base64."""
    try:
        raw = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.") from exc
    if len(raw) != 32:
        raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.")
