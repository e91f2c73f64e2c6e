"""The app with a real SMTP server (aiosmtpd) and localstripe: customers book, pay and get
mail before their data is exported and erased."""

from __future__ import annotations

import pytest

from boka.config import Settings
from tests.conftest import settings_for
from tests.notifications.servers import SmtpServer
from tests.payments.conftest import localstripe, stripe_client, stripe_settings  # noqa: F401 (fixtures)


@pytest.fixture
def settings(postgres_url: str, smtp: SmtpServer, localstripe: str) -> Settings:  # noqa: F811
    return settings_for(
        postgres_url, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
        email_from="Salon Bookings <bookings@salon.example>", public_url="https://book.salon.example",
        rate_limits_enabled=False,  # deleteMyAccount counts against the sign-in allowance
        **stripe_settings(localstripe),
    )
