"""Fixtures for notification tests: the app configured to send through a real local SMTP
server and a local Twilio Messages API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from boka.config import Settings
from tests.conftest import settings_for
from tests.notifications.servers import FakeTwilio, SmtpServer, start_twilio

SMS_FROM = "+15005550006"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server, state = start_twilio()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(postgres_url: str, smtp: SmtpServer, twilio: FakeTwilio) -> Settings:
    return settings_for(
        postgres_url,
        smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
        email_from="Salon Bookings <bookings@salon.example>",
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
        twilio_from_number=SMS_FROM, twilio_base_url=twilio.base_url,
        public_url="https://book.salon.example",
    )
