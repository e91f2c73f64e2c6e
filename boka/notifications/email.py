"""Email over SMTP: a message with an optional calendar invite, sent with a timeout."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import threading
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
    """Sends through the configured SMTP server, reusing connections: a worker sends mail after
    mail, and a connection per message cost a TCP handshake, EHLO (and STARTTLS and LOGIN) and
    QUIT each time. Idle connections wait in a small pool; one taken from it is checked with
    NOOP first (servers close idle connections), and any failure drops the connection."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise EmailNotConfigured("BOKA_SMTP_HOST is not set")
        self.settings = settings
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    async def send(self, email: OutgoingEmail) -> str:
        """Send and return the Message-ID. Raises on any refusal or timeout."""
        message = build_message(email, self.settings.email_from)
        await asyncio.to_thread(self._send_blocking, message)
        return str(message["Message-ID"])

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            _quit_quietly(client)

    def _tls_context(self) -> ssl.SSLContext:
        """Certificate and host name verified, always; against a private CA if one is given.
        Made once: loading the CA bundle costs milliseconds of CPU."""
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.settings.smtp_ca_file)
        return self._tls

    def _send_blocking(self, message: EmailMessage) -> None:
        client = self._take()
        try:
            refused = client.send_message(message)
        except BaseException:
            _quit_quietly(client)
            raise
        self._give_back(client)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def _take(self) -> smtplib.SMTP:
        while True:
            with self._lock:
                client = self._idle.pop() if self._idle else None
            if client is None:
                return self._connect()
            try:
                if client.noop()[0] == 250:
                    return client
            except (smtplib.SMTPException, OSError):
                pass
            _quit_quietly(client)

    def _give_back(self, client: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(client)
                return
        _quit_quietly(client)

    def _connect(self) -> smtplib.SMTP:
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
        try:
            if s.smtp_security == "starttls":
                client.starttls(context=self._tls_context())
            if s.smtp_username:
                client.login(s.smtp_username, s.smtp_password or "")
        except BaseException:
            _quit_quietly(client)
            raise
        return client


MAX_IDLE_CONNECTIONS = 8  # a worker process's lanes, each with a connection of its own


def _quit_quietly(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
