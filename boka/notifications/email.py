"""Email over SMTP: a message with an optional calendar invite, sent with a timeout."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from boka.config import Settings


@dataclass(frozen=True)
class CalendarPart:
    """An RFC 5545 object to attach; ``method`` is its METHOD (REQUEST or CANCEL)."""

    ics: bytes
    method: str


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str
    calendar: CalendarPart | None = None
    unsubscribe_url: str | None = None


class EmailNotConfigured(RuntimeError):
    pass


def build_message(email: OutgoingEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "boka.local"
    message["Message-ID"] = make_msgid(domain=domain)
    if email.unsubscribe_url:
        # RFC 8058 one-click unsubscribe: mail clients POST to the URL.
        message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.body)
    if email.calendar is not None:
        # The invite both inline (calendar clients offer accept/decline) and as a file.
        message.add_alternative(
            email.calendar.ics, maintype="text", subtype="calendar",
            params={"method": email.calendar.method, "charset": "utf-8"},
        )
        message.add_attachment(
            email.calendar.ics, maintype="application", subtype="ics", filename="invite.ics"
        )
    return message


class SmtpEmailSender:
    """Sends through the configured SMTP server; one connection per message (they are few)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise EmailNotConfigured("BOKA_SMTP_HOST is not set")
        self.settings = settings

    async def send(self, email: OutgoingEmail) -> str:
        """Send and return the Message-ID. Raises on any refusal or timeout."""
        message = build_message(email, self.settings.email_from)
        await asyncio.to_thread(self._send_blocking, message)
        return str(message["Message-ID"])

    def _tls_context(self) -> ssl.SSLContext:
        """Certificate and host name verified, always; against a private CA if one is given."""
        return ssl.create_default_context(cafile=self.settings.smtp_ca_file)

    def _send_blocking(self, message: EmailMessage) -> None:
        s = self.settings
        assert s.smtp_host is not None
        client: smtplib.SMTP
        if s.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds,
                context=self._tls_context(),
            )
        else:
            client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        with client:
            if s.smtp_security == "starttls":
                client.starttls(context=self._tls_context())
            if s.smtp_username:
                client.login(s.smtp_username, s.smtp_password or "")
            refused = client.send_message(message)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
