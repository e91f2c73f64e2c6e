"""SMS through Twilio's Messages API with the official ``twilio`` client.

``BOKA_TWILIO_BASE_URL`` sends the client's calls elsewhere (a test server, a proxy). Twilio's
``edge``/``region`` options only pick among *.twilio.com hosts, so the override is a custom
HTTP client (the extension point the library documents for proxies): it swaps scheme and host
of every request and leaves paths, auth and bodies exactly as the library made them.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from boka.config import Settings


class SmsNotConfigured(RuntimeError):
    pass


class RedirectedTwilioHttpClient(TwilioHttpClient):
    """Sends every request to ``base_url`` instead of the *.twilio.com host it was made for."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        target = urlsplit(base_url)
        self._scheme, self._netloc = target.scheme, target.netloc
        self._prefix = target.path.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        redirected = urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )
        return super().request(method, redirected, *args, **kwargs)


class TwilioSmsSender:
    def __init__(self, settings: Settings) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
            raise SmsNotConfigured("BOKA_TWILIO_ACCOUNT_SID/AUTH_TOKEN/FROM_NUMBER are not set")
        http_client = (
            RedirectedTwilioHttpClient(settings.twilio_base_url, settings.twilio_timeout_seconds)
            if settings.twilio_base_url
            else TwilioHttpClient(timeout=settings.twilio_timeout_seconds)
        )
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client
        )
        self.from_number = settings.twilio_from_number

    async def send(self, to: str, body: str) -> str:
        """Send and return Twilio's message SID. Raises TwilioRestException on refusal."""
        message = await asyncio.to_thread(
            self.client.messages.create, to=to, from_=self.from_number, body=body
        )
        return str(message.sid)
