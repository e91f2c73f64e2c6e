"""The SMTP sender against servers that insist on TLS (STARTTLS or implicit) and a login."""

from __future__ import annotations

import smtplib
import socket
import ssl
from pathlib import Path

import pytest

from boka.notifications.email import OutgoingEmail, SmtpEmailSender
from tests.conftest import settings_for
from tests.notifications.servers import self_signed_certificate, start_secure_smtp

MAIL = OutgoingEmail(to="carl@example.com", subject="Hello", body="Secure hello")


# The implicit-TLS test server cannot tell aiosmtpd that its connections are TLS already.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_sends_over_tls_with_a_login(security: str, tmp_path: Path) -> None:
    certificate = self_signed_certificate(str(tmp_path))
    controller, server = start_secure_smtp(
        certificate, implicit_tls=security == "ssl", login="boka", password="s3cret"
    )
    try:
        def sender(**overrides: object) -> SmtpEmailSender:
            values = dict(smtp_host=server.host, smtp_port=server.port, smtp_security=security,
                          smtp_username="boka", smtp_password="s3cret", smtp_ca_file=certificate.cert,
                          smtp_timeout_seconds=5)
            values.update(overrides)
            return SmtpEmailSender(settings_for("sqlite+aiosqlite://", **values))

        message_id = await sender().send(MAIL)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await sender(smtp_password="wrong").send(MAIL)
        with pytest.raises(ssl.SSLCertVerificationError):
            await sender(smtp_ca_file=None).send(MAIL)  # an unknown certificate is never trusted
    finally:
        controller.stop()

    [mail] = server.sink.received
    assert mail.recipients == ["carl@example.com"]
    assert mail.text.strip() == "Secure hello"
    assert mail.message["Message-ID"] == message_id


async def test_one_connection_carries_message_after_message_and_a_dropped_one_is_replaced() -> None:
    from tests.notifications.servers import start_smtp

    controller, server = start_smtp()
    try:
        sender = SmtpEmailSender(settings_for("sqlite+aiosqlite://", smtp_host=server.host,
                                              smtp_port=server.port, smtp_security="none"))
        for _ in range(3):
            await sender.send(MAIL)
        [pooled] = sender._idle
        pooled.sock.shutdown(socket.SHUT_RDWR)  # the server (or a NAT) dropped the idle connection
        await sender.send(MAIL)
        sender.close()
    finally:
        controller.stop()

    sessions = [mail.session for mail in server.sink.received]
    assert len(sessions) == 4
    assert sessions[0] is sessions[1] is sessions[2] and sessions[3] is not sessions[0]
