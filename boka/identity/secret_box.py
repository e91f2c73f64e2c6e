"""Secrets at rest (MFA seeds): Fernet tokens, with key rotation.

Keys come from BOKA_ENCRYPTION_KEYS (comma-separated Fernet keys: the first encrypts, every one
decrypts, so a new key can be put first and old data still reads). Without it, one key is
derived from BOKA_SECRET_KEY with HKDF, so the embedded mode needs no setup.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from boka.config import Settings


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        keys = [key.strip().encode() for key in settings.encryption_keys.split(",") if key.strip()]
        return cls(keys or [derive_key(settings.secret_key)])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError("a stored secret cannot be decrypted with the configured keys") from exc


def derive_key(secret: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"boka secrets at rest").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw)
