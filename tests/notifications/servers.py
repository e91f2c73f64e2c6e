"""Real servers at the providers' boundaries: an SMTP server (aiosmtpd) and a small HTTP
server that speaks Twilio's Messages API, both on free local ports in threads of their own."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import threading
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    session: Any = None  # aiosmtpd's session: one per connection

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends

    def calendar_parts(self) -> list[bytes]:
        """Every text/calendar or .ics part, as raw bytes."""
        found = []
        for part in self.message.walk():
            if part.get_content_type() in ("text/calendar", "application/ics"):
                found.append(part.get_payload(decode=True))
        return found


class MailSink:
    """aiosmtpd handler: keeps every message it accepts; can be told to refuse the next ones."""

    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.refuse_next = 0
        self.unknown_recipients: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.unknown_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message,  # type: ignore[arg-type]
                                              session=session))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if address in mail.recipients]


@dataclass
class SmtpServer:
    host: str
    port: int
    sink: MailSink


def start_smtp() -> tuple[Controller, SmtpServer]:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, sink)


@dataclass
class TwilioMessage:
    account_sid: str
    to: str
    from_: str
    body: str
    sid: str


@dataclass
class FakeTwilio:
    """What Twilio's Messages API saw: only requests with the right basic auth are accepted."""

    account_sid: str
    auth_token: str
    base_url: str = ""
    messages: list[TwilioMessage] = field(default_factory=list)
    refuse_next: int = 0


def _twilio_handler(state: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            prefix = f"/2010-04-01/Accounts/{state.account_sid}/Messages.json"
            expected = "Basic " + base64.b64encode(
                f"{state.account_sid}:{state.auth_token}".encode()
            ).decode()
            if self.headers.get("Authorization") != expected:
                self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401,
                                  "more_info": "https://www.twilio.com/docs/errors/20003"})
                return
            if self.path != prefix:
                self._reply(404, {"code": 20404, "message": "The requested resource was not found",
                                  "status": 404, "more_info": "https://www.twilio.com/docs/errors/20404"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if state.refuse_next > 0:
                state.refuse_next -= 1
                self._reply(503, {"code": 20503, "message": "Service unavailable", "status": 503,
                                  "more_info": "https://www.twilio.com/docs/errors/20503"})
                return
            if not form.get("To", "").startswith("+"):
                self._reply(400, {"code": 21211, "message": f"The 'To' number {form.get('To')} is not a valid phone number.",
                                  "status": 400, "more_info": "https://www.twilio.com/docs/errors/21211"})
                return
            sid = "SM" + uuid.uuid4().hex
            state.messages.append(TwilioMessage(state.account_sid, form["To"], form["From"], form["Body"], sid))
            self._reply(201, {
                "account_sid": state.account_sid, "api_version": "2010-04-01", "body": form["Body"],
                "date_created": "Fri, 27 Nov 2026 08:00:00 +0000", "date_sent": None,
                "date_updated": "Fri, 27 Nov 2026 08:00:00 +0000", "direction": "outbound-api",
                "error_code": None, "error_message": None, "from": form["From"],
                "messaging_service_sid": None, "num_media": "0", "num_segments": "1",
                "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
                "subresource_uris": {"media": f"{prefix[:-5]}/{sid}/Media.json"},
                "to": form["To"], "uri": f"{prefix[:-5]}/{sid}.json",
            })

    return Handler


def start_twilio() -> tuple[ThreadingHTTPServer, FakeTwilio]:
    state = FakeTwilio(account_sid="AC" + uuid.uuid4().hex, auth_token=uuid.uuid4().hex)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _twilio_handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state


@dataclass(frozen=True)
class Certificate:
    cert: str
    key: str


def self_signed_certificate(directory: str) -> Certificate:
    """A certificate for 127.0.0.1 (openssl CLI); it is its own CA."""
    import subprocess

    cert, key = f"{directory}/smtp.crt", f"{directory}/smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return Certificate(cert, key)


def start_secure_smtp(certificate: Certificate, *, implicit_tls: bool, login: str, password: str) -> tuple[Controller, SmtpServer]:
    """An SMTP server that wants TLS (STARTTLS, or TLS from the first byte) and a login."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            login.encode(), password.encode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    sink = MailSink()
    port = free_port()
    options: dict[str, Any] = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": True}
    if implicit_tls:
        # The whole connection is TLS; aiosmtpd only notices TLS that came by STARTTLS.
        options.update(ssl_context=context, auth_require_tls=False)
    else:
        options.update(tls_context=context, require_starttls=True)
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, sink)
