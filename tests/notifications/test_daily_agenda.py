"""Each staff member's daily agenda: their day's bookings in their own time zone, once a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from boka.jobs.context import bind_runtime, unbind_runtime
from boka.jobs.queues import safe_job_id
from boka.jobs.scheduled import schedule_next, sweep_agendas
from boka.models.tenancy import Tenant
from boka.notifications.agenda import due_agendas, send_staff_agenda
from boka.notifications.delivery import Outcome
from boka.notifications.preferences import set_tenant_notification_settings
from tests.conftest import TEST_REDIS_URL
from tests.notifications.servers import SmtpServer
from tests.notifications.support import book, cancel, future_day, local, set_phone_and_channels
from tests.support import GraphQLClient, World


async def test_a_staff_member_gets_their_day_once(gql: GraphQLClient, world: World, smtp: SmtpServer) -> None:
    first = await book(gql, world, email="carl@example.com", hour=14)
    await book(gql, world, email="dana@example.com", hour=9, tenant=first.tenant, staffed=first.staffed)
    gone = await book(gql, world, email="erin@example.com", hour=16, tenant=first.tenant, staffed=first.staffed)
    await cancel(gql, gone)
    await set_phone_and_channels(world, first, "+4915112345678", ["email"])
    day = future_day(3)
    staff = first.staffed.staff[0]

    sent = await send_staff_agenda(world.runtime, first.tenant.id, staff.id, day)
    again = await send_staff_agenda(world.runtime, first.tenant.id, staff.id, day)
    empty_day = await send_staff_agenda(world.runtime, first.tenant.id, staff.id, date(2030, 1, 1))

    assert (sent, again, empty_day) == (Outcome.SENT, Outcome.ALREADY_HANDLED, None)
    [mail] = smtp.sink.received
    assert mail.recipients == [first.staffed.people[0].email]
    assert mail.subject.endswith(": 2 bookings")
    assert mail.text.splitlines()[4:6] == [
        "09:00-10:00  Haircut: dana@example.com",
        "14:00-15:00  Haircut: carl@example.com, +4915112345678",
    ]
    assert "(Europe/Berlin)" in mail.text


async def test_agendas_are_due_from_the_agenda_hour_in_the_staff_members_zone(
    gql: GraphQLClient, world: World
) -> None:
    booked = await book(gql, world)
    staff_id = booked.staffed.staff[0].id  # works in Europe/Berlin
    day = future_day(3)

    def due_at(hour: int, minute: int = 0) -> list:
        return [a for a in _due_cache[(hour, minute)] if a.staff_member_id == staff_id]

    _due_cache = {
        (h, m): await due_agendas(world.runtime, now=local(day, h, m)) for h, m in ((6, 59), (7, 0), (9, 30), (10, 0))
    }

    assert due_at(6, 59) == []
    assert [(a.tenant_id, a.day) for a in due_at(7, 0)] == [(booked.tenant.id, day)]
    assert len(due_at(9, 30)) == 1
    assert due_at(10, 0) == []  # too late in the day: no stale agenda


async def test_the_hourly_sweep_enqueues_due_agendas_and_its_next_run_once(
    gql: GraphQLClient, world: World
) -> None:
    booked = await book(gql, world)
    staff = booked.staffed.staff[0]
    local_now = datetime.now(UTC).astimezone(ZoneInfo(staff.time_zone))
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        tenant = await db.get(Tenant, booked.tenant.id)
        assert tenant is not None
        set_tenant_notification_settings(tenant, agenda_hour=local_now.hour)  # due right now
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    bound = bind_runtime(world.runtime)  # as the in-process runner does: the job uses this runtime
    try:
        result = await sweep_agendas()
        await schedule_next(world.runtime, sweep_agendas)  # e.g. a second app process: no second sweep
    finally:
        unbind_runtime(bound)

    redis = Redis.from_url(TEST_REDIS_URL)
    low = Queue("low", connection=redis)
    assert result == 1
    assert f"agenda-{staff.id}-{local_now.date().isoformat()}" in low.job_ids
    next_hour = this_hour + timedelta(hours=1)
    assert ScheduledJobRegistry(queue=low).get_job_ids() == [safe_job_id(f"sweep_agendas:{next_hour.isoformat()}")]
