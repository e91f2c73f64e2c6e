"""Fixtures for getting-started tests: the app on PostgreSQL with mail going to a real local
SMTP server, and jobs run in-process (``runtime.jobs.drain()`` sends what is queued)."""

from __future__ import annotations

import pytest

from boka.config import Settings
from tests.conftest import settings_for
from tests.notifications.servers import SmtpServer


@pytest.fixture
def settings(postgres_url: str, smtp: SmtpServer) -> Settings:
    return settings_for(
        postgres_url, redis_url=None, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
        public_url="https://book.example", public_signup=True, rate_limit_auth_per_minute=50,
    )
