"""Reminders follow the booking (moved when it moves, silent when it is cancelled) and the
notification jobs run on a real RQ worker process against the real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from boka.config import Settings
from boka.jobs.notifications import notify_booking_changed, notify_payment
from boka.models.tenancy import Tenant
from boka.notifications.booking_messages import send_booking_reminder
from boka.notifications.delivery import Outcome
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import set_tenant_notification_settings
from tests.conftest import TEST_REDIS_URL
from tests.jobs.workers import run_worker, worker_env
from tests.notifications.servers import SmtpServer
from tests.notifications.support import book, cancel, future_day, local, reschedule
from tests.support import GraphQLClient, World


async def test_a_reminder_is_sent_only_for_the_time_the_booking_still_has(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)
    old_start = booked.start
    new_start = local(future_day(3), 15)
    await reschedule(gql, booked, new_start)
    rt, tenant_id, booking_id = world.runtime, booked.tenant.id, booked.booking_id

    stale = await send_booking_reminder(rt, tenant_id, booking_id, lead_minutes=120, expected_start=old_start)
    current = await send_booking_reminder(rt, tenant_id, booking_id, lead_minutes=120, expected_start=new_start)
    retried = await send_booking_reminder(rt, tenant_id, booking_id, lead_minutes=120, expected_start=new_start)
    await cancel(gql, booked)
    after_cancel = await send_booking_reminder(rt, tenant_id, booking_id, lead_minutes=1440, expected_start=new_start)

    assert stale == {}
    assert current == {Channel.EMAIL: Outcome.SENT}
    assert retried == {Channel.EMAIL: Outcome.ALREADY_HANDLED}
    assert after_cancel == {}
    [mail] = smtp.sink.received
    assert mail.subject.startswith("Reminder: Haircut on ") and mail.subject.endswith("at 15:00")
    assert mail.calendar_parts() == []


async def test_no_reminder_once_the_booking_has_started(gql: GraphQLClient, world: World, smtp: SmtpServer) -> None:
    booked = await book(gql, world)

    late = await send_booking_reminder(
        world.runtime, booked.tenant.id, booked.booking_id, lead_minutes=120,
        expected_start=booked.start, now=booked.start + timedelta(minutes=1),
    )

    assert late == {} and smtp.sink.received == []


def _scheduled(redis: Redis) -> dict[str, datetime]:
    registry = ScheduledJobRegistry(queue=Queue("default", connection=redis))
    return {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}


def _worker_env(settings: Settings, smtp: SmtpServer) -> dict[str, str]:
    # One lane: messages leave in the order their jobs were queued. (With several lanes, as
    # with several workers, two messages queued together may cross.)
    return worker_env(
        TEST_REDIS_URL, database_url=settings.database_url, smtp_host=smtp.host,
        smtp_port=str(smtp.port), smtp_security="none", email_from=settings.email_from,
        public_url=settings.public_url, worker_concurrency="1",
    )


async def test_booking_changes_go_out_through_the_worker_and_reminders_follow_the_booking(
    gql: GraphQLClient, world: World, smtp: SmtpServer, settings: Settings
) -> None:
    redis = Redis.from_url(TEST_REDIS_URL)
    booked = await book(gql, world)
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        tenant = await db.get(Tenant, booked.tenant.id)
        assert tenant is not None
        set_tenant_notification_settings(tenant, reminder_lead_minutes=[60, 1440])
    rt, tenant_id, booking_id = world.runtime, booked.tenant.id, booked.booking_id

    await notify_booking_changed(rt, tenant_id, booking_id, MessageKind.BOOKING_CONFIRMED, event_id="e1")
    await notify_booking_changed(rt, tenant_id, booking_id, MessageKind.BOOKING_CONFIRMED, event_id="e1")  # redelivered
    first_plan = _scheduled(redis)
    new_start = local(future_day(3), 16)
    await reschedule(gql, booked, new_start)
    await notify_booking_changed(rt, tenant_id, booking_id, MessageKind.BOOKING_RESCHEDULED, event_id="e2")
    second_plan = _scheduled(redis)
    burst = run_worker("--burst", env=_worker_env(settings, smtp))

    assert burst.returncode == 0, burst.stderr
    new_ts = int(new_start.timestamp())
    assert set(first_plan) == {f"reminder-{booking_id}-{lead}-{int(local(future_day(3), 10).timestamp())}"
                               for lead in (60, 1440)}
    assert first_plan[f"reminder-{booking_id}-60-{int(local(future_day(3), 10).timestamp())}"] == (
        local(future_day(3), 9).astimezone(UTC))
    assert set(second_plan) - set(first_plan) == {f"reminder-{booking_id}-{lead}-{new_ts}" for lead in (60, 1440)}
    # The worker sent the confirmation (once) and the move; the reminders wait for their time.
    assert [mail.subject.split(":")[0] for mail in smtp.sink.received] == ["Booking confirmed", "Booking moved"]

    # Time passes: every reminder job comes due, the stale ones included.
    queue = Queue("default", connection=redis)
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=redis))
    burst = run_worker("--burst", env=_worker_env(settings, smtp))

    assert burst.returncode == 0, burst.stderr
    reminders = [mail for mail in smtp.sink.received if mail.subject.startswith("Reminder")]
    assert len(reminders) == 2  # 24 h and 1 h before the new time; none for the old time
    assert all(mail.subject.endswith("at 16:00") for mail in reminders)


async def test_a_cancellation_goes_out_and_its_reminders_stay_silent(
    gql: GraphQLClient, world: World, smtp: SmtpServer, settings: Settings
) -> None:
    redis = Redis.from_url(TEST_REDIS_URL)
    booked = await book(gql, world)
    rt, tenant_id, booking_id = world.runtime, booked.tenant.id, booked.booking_id
    await notify_booking_changed(rt, tenant_id, booking_id, MessageKind.BOOKING_CONFIRMED)
    await cancel(gql, booked)
    await notify_booking_changed(rt, tenant_id, booking_id, MessageKind.BOOKING_CANCELLED)
    await notify_payment(rt, tenant_id, booking_id, MessageKind.PAYMENT_REFUND,
                         reference="re_123", amount_cents=5000, currency="EUR")
    queue = Queue("default", connection=redis)
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():  # the reminders come due
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=redis))

    burst = run_worker("--burst", env=_worker_env(settings, smtp))

    assert burst.returncode == 0, burst.stderr
    subjects = sorted(mail.subject.split(":")[0] for mail in smtp.sink.received)
    # The confirmation job ran after the cancellation: it re-read the booking and sent nothing.
    assert subjects == ["Booking cancelled", "Refund"]
