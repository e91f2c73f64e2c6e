"""GraphQL types of notifications: templates, tenant settings, customer preferences, feeds."""

from __future__ import annotations

from datetime import datetime

import strawberry

from boka.notifications.admin import EffectiveTemplate, TenantNotificationSettings
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import CustomerPreferences
from boka.schema.catalog import StaffMemberType
from boka.schema.errors import UserError

NotificationKindEnum = strawberry.enum(MessageKind, name="NotificationKind")
NotificationChannelEnum = strawberry.enum(Channel, name="NotificationChannel")


@strawberry.type(name="NotificationTemplate", description=(
    "The wording of one message. Placeholders are written $name (e.g. $service_name); "
    "$$ is a literal dollar sign."
))
class NotificationTemplateType:
    kind: NotificationKindEnum  # type: ignore[valid-type]
    channel: NotificationChannelEnum  # type: ignore[valid-type]
    language: str
    subject: str = strawberry.field(description="Empty for SMS.")
    body: str
    is_default: bool = strawberry.field(description="The built-in wording (the tenant has none of its own).")
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, template: EffectiveTemplate) -> NotificationTemplateType:
        return cls(
            kind=template.kind, channel=template.channel, language=template.language,
            subject=template.subject, body=template.body, is_default=template.is_default,
            updated_at=template.updated_at,
        )


@strawberry.type(name="NotificationSettings")
class NotificationSettingsType:
    reminder_lead_minutes: list[int] = strawberry.field(
        description="Reminders go out this many minutes before a confirmed booking."
    )
    language: str | None = strawberry.field(description="Messages' language unless the customer chose one.")
    agenda_hour: int = strawberry.field(description="Local hour at which staff get their daily agenda.")

    @classmethod
    def from_domain(cls, settings: TenantNotificationSettings) -> NotificationSettingsType:
        return cls(reminder_lead_minutes=list(settings.reminder_lead_minutes),
                   language=settings.language, agenda_hour=settings.agenda_hour)


@strawberry.type(name="NotificationPreferences")
class NotificationPreferencesType:
    channels: list[NotificationChannelEnum] = strawberry.field(  # type: ignore[valid-type]
        description="Where messages go; empty means none at all."
    )
    language: str | None

    @classmethod
    def from_domain(cls, preferences: CustomerPreferences) -> NotificationPreferencesType:
        return cls(channels=list(preferences.channels), language=preferences.language)


@strawberry.input
class SetNotificationTemplateInput:
    kind: NotificationKindEnum  # type: ignore[valid-type]
    channel: NotificationChannelEnum  # type: ignore[valid-type]
    language: str
    subject: str = ""
    body: str


@strawberry.input
class ResetNotificationTemplateInput:
    kind: NotificationKindEnum  # type: ignore[valid-type]
    channel: NotificationChannelEnum  # type: ignore[valid-type]
    language: str


@strawberry.input(description="Fields left out (or null) stay as they are.")
class UpdateNotificationSettingsInput:
    reminder_lead_minutes: list[int] | None = None
    language: str | None = None
    agenda_hour: int | None = None


@strawberry.input(description="Fields left out (or null) stay as they are.")
class UpdateMyNotificationPreferencesInput:
    channels: list[NotificationChannelEnum] | None = None  # type: ignore[valid-type]
    language: str | None = None


@strawberry.input
class UnsubscribeInput:
    token: str = strawberry.field(description="The token of the unsubscribe link in a message.")


@strawberry.input
class CalendarFeedInput:
    staff_member_id: strawberry.relay.GlobalID


@strawberry.type
class NotificationTemplatePayload:
    template: NotificationTemplateType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NotificationSettingsPayload:
    settings: NotificationSettingsType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NotificationPreferencesPayload:
    preferences: NotificationPreferencesType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UnsubscribePayload:
    unsubscribed: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CalendarFeedPayload:
    staff_member: StaffMemberType | None = None
    url: str | None = strawberry.field(
        default=None, description="The private feed URL; shown only now. Issuing again replaces it."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
