"""Platform tests send mail through a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import pytest

from boka.config import Settings
from tests.conftest import settings_for
from tests.notifications.servers import SmtpServer


@pytest.fixture
def settings(postgres_url: str, smtp: SmtpServer) -> Settings:
    return settings_for(
        postgres_url, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
        email_from="Boka <ops@boka.example>", public_url="https://book.salon.example",
    )
