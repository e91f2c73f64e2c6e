"""Resolvers for notifications. Thin: input → domain → type."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.identity.principal import Principal
from boka.notifications import admin
from boka.notifications.feeds import IssuedFeed, issue_feed, revoke_feed
from boka.notifications.unsubscribe import unsubscribe
from boka.resolvers.context import Info
from boka.schema.catalog import StaffMemberType
from boka.schema.errors import UserError
from boka.schema.ids import row_id
from boka.schema.notifications import (
    CalendarFeedInput,
    CalendarFeedPayload,
    NotificationPreferencesPayload,
    NotificationPreferencesType,
    NotificationSettingsPayload,
    NotificationSettingsType,
    NotificationTemplatePayload,
    NotificationTemplateType,
    ResetNotificationTemplateInput,
    SetNotificationTemplateInput,
    UnsubscribeInput,
    UnsubscribePayload,
    UpdateMyNotificationPreferencesInput,
    UpdateNotificationSettingsInput,
)
from boka.schema.rate_limits import admin_limited
from boka.schema.transactions import read, write


async def notification_templates(info: Info) -> list[NotificationTemplateType]:
    """Every message's wording in use (managers and owners)."""
    templates = await read(info, admin.list_templates)
    return [NotificationTemplateType.from_domain(t) for t in templates]


async def notification_settings(info: Info) -> NotificationSettingsType:
    return NotificationSettingsType.from_domain(await read(info, admin.tenant_notification_settings))


async def my_notification_preferences(info: Info) -> NotificationPreferencesType | None:
    """Null until the signed-in customer has booked here once."""
    preferences = await read(info, admin.my_preferences)
    return NotificationPreferencesType.from_domain(preferences) if preferences else None


async def set_notification_template(info: Info, input: SetNotificationTemplateInput) -> NotificationTemplatePayload:
    async def work(db: AsyncSession, principal: Principal) -> admin.EffectiveTemplate:
        return await admin.save_template(
            db, principal, kind=input.kind, channel=input.channel, language=input.language,
            subject=input.subject, body=input.body,
        )

    template, errors = await write(info, work)
    return NotificationTemplatePayload(
        template=NotificationTemplateType.from_domain(template) if template else None, errors=errors
    )


async def reset_notification_template(
    info: Info, input: ResetNotificationTemplateInput
) -> NotificationTemplatePayload:
    async def work(db: AsyncSession, principal: Principal) -> admin.EffectiveTemplate:
        return await admin.reset_template(
            db, principal, kind=input.kind, channel=input.channel, language=input.language
        )

    template, errors = await write(info, work)
    return NotificationTemplatePayload(
        template=NotificationTemplateType.from_domain(template) if template else None, errors=errors
    )


async def update_notification_settings(
    info: Info, input: UpdateNotificationSettingsInput
) -> NotificationSettingsPayload:
    async def work(db: AsyncSession, principal: Principal) -> admin.TenantNotificationSettings:
        return await admin.update_tenant_notification_settings(
            db, principal, reminder_lead_minutes=input.reminder_lead_minutes,
            language=input.language, agenda_hour=input.agenda_hour,
        )

    settings, errors = await write(info, work)
    return NotificationSettingsPayload(
        settings=NotificationSettingsType.from_domain(settings) if settings else None, errors=errors
    )


async def update_my_notification_preferences(
    info: Info, input: UpdateMyNotificationPreferencesInput
) -> NotificationPreferencesPayload:
    async def work(db: AsyncSession, principal: Principal):  # type: ignore[no-untyped-def]
        return await admin.update_my_preferences(
            db, principal, channels=input.channels, language=input.language
        )

    preferences, errors = await write(info, work)
    return NotificationPreferencesPayload(
        preferences=NotificationPreferencesType.from_domain(preferences) if preferences else None,
        errors=errors,
    )


async def unsubscribe_mutation(info: Info, input: UnsubscribeInput) -> UnsubscribePayload:
    """Stop every message to the customer the link was made for; no sign-in needed."""
    runtime = info.context.runtime
    customer = await unsubscribe(runtime.database, runtime.settings, input.token)
    if customer is None:
        error = UserInputError(UserErrorCode.INVALID_INPUT, "This unsubscribe link is not valid.", "token")
        return UnsubscribePayload(unsubscribed=False, errors=[UserError.from_exception(error)])
    return UnsubscribePayload(unsubscribed=True)


async def issue_calendar_feed(info: Info, input: CalendarFeedInput) -> CalendarFeedPayload:
    """A new private feed URL for the staff member (any earlier one stops working)."""
    settings = info.context.runtime.settings

    async def work(db: AsyncSession, principal: Principal) -> IssuedFeed:
        staff_id = row_id(input.staff_member_id, "StaffMember", "staffMemberId")
        return await issue_feed(db, principal, staff_id, settings)

    issued, errors = await write(info, work)
    if issued is None:
        return CalendarFeedPayload(errors=errors)
    return CalendarFeedPayload(staff_member=StaffMemberType.from_model(issued.staff_member), url=issued.url)


async def revoke_calendar_feed(info: Info, input: CalendarFeedInput) -> CalendarFeedPayload:
    async def work(db: AsyncSession, principal: Principal):  # type: ignore[no-untyped-def]
        staff_id = row_id(input.staff_member_id, "StaffMember", "staffMemberId")
        return await revoke_feed(db, principal, staff_id)

    member, errors = await write(info, work)
    return CalendarFeedPayload(
        staff_member=StaffMemberType.from_model(member) if member else None, errors=errors
    )


@strawberry.type
class NotificationQuery:
    notification_templates: list[NotificationTemplateType] = strawberry.field(resolver=notification_templates)
    notification_settings: NotificationSettingsType = strawberry.field(resolver=notification_settings)
    my_notification_preferences: NotificationPreferencesType | None = strawberry.field(
        resolver=my_notification_preferences
    )


@strawberry.type
class NotificationMutation:
    set_notification_template: NotificationTemplatePayload = strawberry.field(
        resolver=set_notification_template, extensions=admin_limited()
    )
    reset_notification_template: NotificationTemplatePayload = strawberry.field(
        resolver=reset_notification_template, extensions=admin_limited()
    )
    update_notification_settings: NotificationSettingsPayload = strawberry.field(
        resolver=update_notification_settings, extensions=admin_limited()
    )
    update_my_notification_preferences: NotificationPreferencesPayload = strawberry.field(
        resolver=update_my_notification_preferences
    )
    unsubscribe: UnsubscribePayload = strawberry.field(resolver=unsubscribe_mutation)
    issue_calendar_feed: CalendarFeedPayload = strawberry.field(resolver=issue_calendar_feed)
    revoke_calendar_feed: CalendarFeedPayload = strawberry.field(resolver=revoke_calendar_feed)
