"""The device a request comes from: address, browser, and a fingerprint to recognise it by."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceInfo:
    ip_address: str | None = None
    user_agent: str | None = None
    accept_language: str | None = None
    # An identifier the client keeps for itself (X-Device-Id), if it sends one.
    device_id: str | None = None

    @property
    def fingerprint(self) -> str:
        """Stable for one browser or app install; the address is left out, since phones and
        laptops change networks all day."""
        parts = (self.device_id or "", self.user_agent or "", self.accept_language or "")
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
