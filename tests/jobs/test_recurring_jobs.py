"""Recurring maintenance jobs: each run does its work and schedules the next run once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from rq.registry import ScheduledJobRegistry

from boka.jobs.context import bind_runtime, unbind_runtime
from boka.jobs.scheduled import clean_up_sessions, next_boundary
from boka.models.identity import UserSession
from boka.models.types import utcnow
from tests.support import World


def test_runs_fall_on_period_boundaries() -> None:
    now = datetime(2026, 11, 27, 8, 31, 12, tzinfo=UTC)
    assert next_boundary(now, timedelta(minutes=5)) == datetime(2026, 11, 27, 8, 35, tzinfo=UTC)
    assert next_boundary(now, timedelta(hours=1)) == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def test_session_clean_up_deletes_long_ended_sessions_and_schedules_itself(world: World) -> None:
    tenant = await world.tenant("salon")
    current = await world.person(tenant, None)
    stale = await world.person(tenant, None)
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        await db.execute(
            sa.update(UserSession).where(UserSession.user_id == stale.user.id)
            .values(expires_at=utcnow() - timedelta(days=31))
        )

    token = bind_runtime(world.runtime)
    try:
        assert await clean_up_sessions() == 1
        assert await clean_up_sessions() == 0  # the same period's next run is scheduled once
    finally:
        unbind_runtime(token)

    async with world.runtime.database.transaction(all_tenants=True) as db:
        owners = (await db.execute(sa.select(UserSession.user_id))).scalars().all()
    assert owners == [current.user.id]
    scheduled = ScheduledJobRegistry("low", connection=world.runtime.jobs.connection).get_job_ids()
    assert len([job_id for job_id in scheduled if job_id.startswith("clean_up_sessions")]) == 1
