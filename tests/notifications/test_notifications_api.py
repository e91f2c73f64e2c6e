"""Managing notifications over GraphQL: tenant templates and reminder lead times (managers and
owners), a customer's own preferences and language, and the unsubscribe link."""

from __future__ import annotations

from datetime import timedelta

import httpx

from boka.jobs.notifications import schedule_reminders
from boka.models.tenancy import Role
from boka.notifications.booking_messages import send_booking_message
from boka.notifications.kinds import MessageKind
from boka.notifications.preferences import unsubscribe_token
from boka.notifications.reminders import plan_reminders
from tests.conftest import TEST_SECRET_KEY
from tests.notifications.servers import FakeTwilio, SmtpServer
from tests.notifications.support import book, customer_row
from tests.support import GraphQLClient, World

SET_TEMPLATE = """mutation Set($input: SetNotificationTemplateInput!) {
  setNotificationTemplate(input: $input) {
    template { kind channel language subject body isDefault } errors { code field message }
  }
}"""
RESET_TEMPLATE = """mutation Reset($input: ResetNotificationTemplateInput!) {
  resetNotificationTemplate(input: $input) { template { subject isDefault } errors { code } }
}"""
TEMPLATES = "{ notificationTemplates { kind channel language subject isDefault } }"
UPDATE_SETTINGS = """mutation Settings($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    settings { reminderLeadMinutes language agendaHour } errors { code field message }
  }
}"""
MY_PREFERENCES = "{ myNotificationPreferences { channels language } }"
UPDATE_MINE = """mutation Mine($input: UpdateMyNotificationPreferencesInput!) {
  updateMyNotificationPreferences(input: $input) { preferences { channels language } errors { code field message } }
}"""
UNSUBSCRIBE = """mutation Unsub($token: String!) {
  unsubscribe(input: {token: $token}) { unsubscribed errors { code field } }
}"""


async def test_an_owner_rewords_a_message_and_customers_receive_it(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)
    owner = await world.person(booked.tenant, Role.OWNER)
    template = {"kind": "BOOKING_CONFIRMED", "channel": "EMAIL", "language": "en",
                "subject": "See you on $date, $customer_name!",
                "body": "It costs $$50. $service_name at $start_time.\nBye: $unsubscribe_url"}

    saved = await gql(SET_TEMPLATE, {"input": template}, token=owner.token, tenant="salon")
    listed = await gql(TEMPLATES, token=owner.token, tenant="salon")
    await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert saved.data["setNotificationTemplate"]["errors"] == []
    assert saved.data["setNotificationTemplate"]["template"]["isDefault"] is False
    rows = listed.data["notificationTemplates"]
    assert len(rows) == 9 * 2 * 2  # every kind, channel and language
    assert [r["isDefault"] for r in rows if r["kind"] == "BOOKING_CONFIRMED" and r["channel"] == "EMAIL"
            and r["language"] == "en"] == [False]
    [mail] = smtp.sink.received
    assert mail.subject.startswith("See you on ") and mail.subject.endswith(", carl@example.com!")
    assert mail.text.startswith("It costs $50. Haircut at 10:00.\nBye: https://book.salon.example/notifications/unsubscribe/")

    reset = await gql(RESET_TEMPLATE, {"input": {"kind": "BOOKING_CONFIRMED", "channel": "EMAIL", "language": "en"}},
                      token=owner.token, tenant="salon")
    assert reset.data["resetNotificationTemplate"]["template"]["isDefault"] is True


async def test_templates_are_checked_and_only_managers_may_change_them(gql: GraphQLClient, world: World) -> None:
    booked = await book(gql, world)
    manager = await world.person(booked.tenant, Role.MANAGER)
    staff = booked.staffed.people[0]
    base = {"kind": "BOOKING_REMINDER", "channel": "SMS", "language": "en", "body": "Hi"}

    unknown = await gql(SET_TEMPLATE, {"input": {**base, "body": "Hi {{ customer.__class__ }} $password"}},
                        token=manager.token, tenant="salon")
    subject_on_sms = await gql(SET_TEMPLATE, {"input": {**base, "subject": "x"}}, token=manager.token, tenant="salon")
    too_long = await gql(SET_TEMPLATE, {"input": {**base, "body": "x" * 1601}}, token=manager.token, tenant="salon")
    bad_language = await gql(SET_TEMPLATE, {"input": {**base, "language": "xx"}}, token=manager.token, tenant="salon")
    by_staff = await gql(SET_TEMPLATE, {"input": base}, token=staff.token, tenant="salon")
    by_customer = await gql(TEMPLATES, token=booked.customer.token, tenant="salon")

    errors = unknown.data["setNotificationTemplate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", "body")]
    assert "password" in errors[0]["message"]
    assert subject_on_sms.data["setNotificationTemplate"]["errors"][0]["field"] == "subject"
    assert too_long.data["setNotificationTemplate"]["errors"][0]["field"] == "body"
    assert bad_language.data["setNotificationTemplate"]["errors"][0]["field"] == "language"
    assert by_staff.error_codes == ["FORBIDDEN"]
    assert by_customer.error_codes == ["FORBIDDEN"]


async def test_reminder_lead_times_are_the_tenants_choice(gql: GraphQLClient, world: World) -> None:
    booked = await book(gql, world)
    owner = await world.person(booked.tenant, Role.OWNER)
    default_plan = await plan_reminders(world.runtime, booked.tenant.id, booked.booking_id)

    changed = await gql(UPDATE_SETTINGS, {"input": {"reminderLeadMinutes": [30, 2880, 30], "language": "de"}},
                        token=owner.token, tenant="salon")
    invalid = await gql(UPDATE_SETTINGS, {"input": {"reminderLeadMinutes": [0]}}, token=owner.token, tenant="salon")
    new_plan = await plan_reminders(world.runtime, booked.tenant.id, booked.booking_id)
    scheduled = await schedule_reminders(world.runtime, booked.tenant.id, booked.booking_id)

    assert [r.lead_minutes for r in default_plan] == [1440, 120]
    assert changed.data["updateNotificationSettings"]["settings"] == {
        "reminderLeadMinutes": [2880, 30], "language": "de", "agendaHour": 7}
    assert invalid.data["updateNotificationSettings"]["errors"][0]["field"] == "reminderLeadMinutes"
    assert [r.lead_minutes for r in new_plan] == [2880, 30]
    assert [r.send_at for r in new_plan] == [booked.start - timedelta(minutes=m) for m in (2880, 30)]
    assert scheduled == 2


async def test_a_customer_chooses_channels_and_language(
    gql: GraphQLClient, world: World, smtp: SmtpServer, twilio: FakeTwilio
) -> None:
    booked = await book(gql, world)
    token = booked.customer.token
    before = await gql(MY_PREFERENCES, token=token, tenant="salon")
    sms_without_phone = await gql(UPDATE_MINE, {"input": {"channels": ["SMS"]}}, token=token, tenant="salon")
    german = await gql(UPDATE_MINE, {"input": {"language": "de"}}, token=token, tenant="salon")
    await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)
    nothing = await gql(UPDATE_MINE, {"input": {"channels": []}}, token=token, tenant="salon")
    await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_RESCHEDULED)
    stranger = await world.person(booked.tenant, Role.CUSTOMER)
    no_profile = await gql(UPDATE_MINE, {"input": {"channels": []}}, token=stranger.token, tenant="salon")

    assert before.data["myNotificationPreferences"] == {"channels": ["EMAIL"], "language": None}
    assert sms_without_phone.data["updateMyNotificationPreferences"]["errors"][0]["field"] == "channels"
    assert german.data["updateMyNotificationPreferences"]["preferences"] == {"channels": ["EMAIL"], "language": "de"}
    assert nothing.data["updateMyNotificationPreferences"]["preferences"]["channels"] == []
    [mail] = smtp.sink.received  # the second message found every channel off
    assert mail.subject.startswith("Termin bestätigt: Haircut am ")
    assert "Ihr Termin bei Salon ist bestätigt" in mail.text
    assert no_profile.data["updateMyNotificationPreferences"]["errors"][0]["code"] == "INVALID_INPUT"


async def test_the_unsubscribe_link_turns_everything_off(
    gql: GraphQLClient, world: World, http: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    booked = await book(gql, world)
    customer = await customer_row(world, booked)
    token = unsubscribe_token(TEST_SECRET_KEY, customer.id)

    page = await http.get(f"/notifications/unsubscribe/{token}")  # a link scanner, or the person
    still_subscribed = await customer_row(world, booked)
    one_click = await http.post(f"/notifications/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    after = await customer_row(world, booked)
    forged = await http.post(f"/notifications/unsubscribe/{token[:-2]}xx")
    via_graphql = await gql(UNSUBSCRIBE, {"token": token})
    bad_graphql = await gql(UNSUBSCRIBE, {"token": "bku_nope.nope"})
    outcome = await send_booking_message(world.runtime, booked.tenant.id, booked.booking_id, MessageKind.BOOKING_CONFIRMED)

    assert page.status_code == 200 and "<form method=\"post\"" in page.text
    assert still_subscribed.preferences == {}
    assert one_click.status_code == 200 and "Unsubscribed" in one_click.text
    assert after.preferences["notifications"]["channels"] == []
    assert forged.status_code == 404
    assert via_graphql.data["unsubscribe"] == {"unsubscribed": True, "errors": []}
    assert bad_graphql.data["unsubscribe"]["errors"] == [{"code": "INVALID_INPUT", "field": "token"}]
    assert outcome == {} and smtp.sink.received == []
