"""GraphQL types of a business: signing it up, its settings, its public booking page."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from boka.booking.schedules import HoursInterval
from boka.business.defaults import BusinessDefaults, DefaultsChange
from boka.business.profile import BusinessSettings, PublicProfile
from boka.models.catalog import Service
from boka.payments.card_checkout import CardCheckout
from boka.schema.catalog import LateReschedulePolicy, MoneyType
from boka.schema.errors import UserError
from boka.schema.identity import TenantType, Viewer
from boka.schema.schedules import WeeklyHoursInput, WeeklyHoursType


@strawberry.input(description="The business's first owner: a new account.")
class BusinessOwnerInput:
    email: str
    password: str
    first_name: str
    last_name: str


@strawberry.input
class SignUpBusinessInput:
    business_name: str
    time_zone: str = strawberry.field(description="IANA name, e.g. Europe/Berlin.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. EUR.")
    slug: str | None = strawberry.field(
        default=None, description="The business's short name in addresses; made from its name if left out."
    )
    country: str | None = strawberry.field(default=None, description="ISO 3166 code, e.g. DE.")
    locale: str | None = strawberry.field(default=None, description="e.g. en or de-DE.")
    owner: BusinessOwnerInput | None = strawberry.field(
        default=None, description="Leave out when signed in: your own account becomes the owner."
    )


@strawberry.type
class SignUpBusinessPayload:
    token: str | None = strawberry.field(
        default=None, description="A session of the new owner, shown once (also set as the cookie)."
    )
    expires_at: datetime | None = None
    tenant: TenantType | None = None
    viewer: Viewer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(
    name="BusinessDefaults",
    description="What new staff members and services start with when their request leaves it out; "
    "changing a default never changes the staff or services that exist already.",
)
class BusinessDefaultsType:
    weekly_hours: list[WeeklyHoursType] = strawberry.field(
        description="The week a new staff member starts with, in that member's zone (empty: none)."
    )
    min_notice_minutes: int | None = strawberry.field(description="A new service's minimum notice.")
    max_advance_days: int | None = strawberry.field(description="How far ahead a new service is bookable.")
    free_cancel_hours: int | None = strawberry.field(
        description="A new service's free-cancellation window, in hours before the start."
    )
    late_cancel_refund_percent: int | None = strawberry.field(
        description="The share a new service refunds for a later cancellation."
    )
    late_reschedule: LateReschedulePolicy | None = strawberry.field(  # type: ignore[valid-type]
        description="What a new service does with a reschedule inside the window."
    )

    @classmethod
    def from_defaults(cls, defaults: BusinessDefaults) -> BusinessDefaultsType:
        return cls(
            weekly_hours=[
                WeeklyHoursType(weekday=i.weekday, start=i.start, end=i.end, is_break=i.is_break)
                for i in defaults.weekly_hours or ()
            ],
            min_notice_minutes=defaults.min_notice_minutes, max_advance_days=defaults.max_advance_days,
            free_cancel_hours=defaults.free_cancel_hours,
            late_cancel_refund_percent=defaults.late_cancel_refund_percent,
            late_reschedule=defaults.late_reschedule,
        )


@strawberry.input(description="Only the defaults given change; weeklyHours: [] removes the default week.")
class BusinessDefaultsInput:
    weekly_hours: list[WeeklyHoursInput] | None = None
    min_notice_minutes: int | None = strawberry.field(default=None, description="0 to 1051200.")
    max_advance_days: int | None = strawberry.field(default=None, description="1 to 730.")
    free_cancel_hours: int | None = strawberry.field(default=None, description="0 to 8760.")
    late_cancel_refund_percent: int | None = strawberry.field(default=None, description="0 to 100.")
    late_reschedule: LateReschedulePolicy | None = None  # type: ignore[valid-type]

    def to_change(self) -> DefaultsChange:
        return DefaultsChange(
            weekly_hours=None if self.weekly_hours is None else tuple(
                HoursInterval(weekday=i.weekday, start=i.start, end=i.end, is_break=i.is_break)
                for i in self.weekly_hours
            ),
            min_notice_minutes=self.min_notice_minutes, max_advance_days=self.max_advance_days,
            free_cancel_hours=self.free_cancel_hours,
            late_cancel_refund_percent=self.late_cancel_refund_percent,
            late_reschedule=self.late_reschedule,
        )


@strawberry.type(name="BusinessSettings", description="What an owner sets; managers may read it.")
class BusinessSettingsType:
    name: str
    time_zone: str
    currency: str
    locale: str | None
    country: str | None
    contact_email: str | None
    contact_phone: str | None
    address: str | None
    logo_url: str | None
    brand_color: str | None
    booking_page_title: str | None
    booking_page_intro: str | None
    defaults: BusinessDefaultsType = strawberry.field(
        description="What new staff members and services start with when their request leaves it out."
    )

    @classmethod
    def from_settings(cls, settings: BusinessSettings, defaults: BusinessDefaults) -> BusinessSettingsType:
        return cls(**vars(settings), defaults=BusinessDefaultsType.from_defaults(defaults))


@strawberry.input(description="Only the fields given change; an empty string clears an optional one.")
class UpdateBusinessSettingsInput:
    name: str | None = None
    time_zone: str | None = None
    currency: str | None = strawberry.field(
        default=None, description="Only while no service, booking or payment uses the current one."
    )
    locale: str | None = None
    country: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    logo_url: str | None = strawberry.field(default=None, description="An https:// address.")
    brand_color: str | None = strawberry.field(default=None, description="e.g. #1a73e8.")
    booking_page_title: str | None = None
    booking_page_intro: str | None = None
    defaults: BusinessDefaultsInput | None = strawberry.field(
        default=None, description="Defaults for new staff members and services; only those given change."
    )

    def to_settings(self) -> BusinessSettings:
        return BusinessSettings(**{name: getattr(self, name) for name in BusinessSettings.__dataclass_fields__})


@strawberry.type
class BusinessSettingsPayload:
    settings: BusinessSettingsType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="A service on sale, as a booking page shows it.")
class PublicService:
    id: relay.GlobalID
    name: str
    description: str
    duration_minutes: int
    price: MoneyType
    capacity: int

    @classmethod
    def from_model(cls, service: Service) -> PublicService:
        return cls(
            id=relay.GlobalID("Service", str(service.id)), name=service.name,
            description=service.description, duration_minutes=service.duration_minutes,
            price=MoneyType(amount=service.price_cents, currency=service.currency),
            capacity=service.capacity,
        )


@strawberry.type(
    name="PublicPaymentSettings",
    description="How a booking page takes payment for services paid up front: by card online "
    "through Stripe's Payment Element, or on site. Public by design: no secret is here.",
)
class PublicPaymentSettingsType:
    online: bool
    stripe_publishable_key: str | None
    stripe_js_url: str | None

    @classmethod
    def from_checkout(cls, checkout: CardCheckout) -> PublicPaymentSettingsType:
        return cls(online=checkout.online, stripe_publishable_key=checkout.publishable_key,
                   stripe_js_url=checkout.js_url)


@strawberry.type(description="What a booking page needs before anyone signs in; nothing private.")
class BusinessPage:
    slug: str
    name: str
    time_zone: str
    currency: str
    locale: str | None
    logo_url: str | None
    brand_color: str | None
    booking_page_title: str | None
    booking_page_intro: str | None
    services: list[PublicService]
    payments: PublicPaymentSettingsType

    @classmethod
    def from_profile(
        cls, profile: PublicProfile, services: list[Service], checkout: CardCheckout
    ) -> BusinessPage:
        return cls(
            slug=profile.tenant.slug, name=profile.name, time_zone=profile.time_zone,
            currency=profile.currency, locale=profile.locale, logo_url=profile.logo_url,
            brand_color=profile.brand_color, booking_page_title=profile.booking_page_title,
            booking_page_intro=profile.booking_page_intro,
            services=[PublicService.from_model(service) for service in services],
            payments=PublicPaymentSettingsType.from_checkout(checkout),
        )
