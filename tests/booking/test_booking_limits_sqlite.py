"""Booking limits in embedded mode (SQLite): the periods' bookings are counted in Python there
(no ``width_bucket``), and writes are serialised, so no lock is needed. The same tests as on
PostgreSQL (tests/booking/test_booking_limits.py), against a SQLite file of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boka.config import Settings
from boka.migrations import upgrade_to_head
from boka.web.app import create_app
from tests.booking.test_booking_limits import (
    test_a_full_day_shows_no_slots_explains_and_refuses as test_a_full_day_on_sqlite,
)
from tests.booking.test_booking_limits import (
    test_a_staff_members_weekly_minutes_limit_leaves_colleagues_bookable as test_weekly_minutes_on_sqlite,
)
from tests.booking.test_booking_limits import (
    test_customer_rules_limit_upcoming_bookings_and_keep_a_gap as test_customer_rules_on_sqlite,
)
from tests.conftest import settings_for

pytestmark = pytest.mark.sqlite

__all__ = ["test_a_full_day_on_sqlite", "test_customer_rules_on_sqlite", "test_weekly_minutes_on_sqlite"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}", redis_url=None)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
