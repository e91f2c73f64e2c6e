"""GraphQL types of a business: signing it up, its settings, its public booking page."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from boka.business.profile import BusinessSettings, PublicProfile
from boka.models.catalog import Service
from boka.schema.catalog import MoneyType
from boka.schema.errors import UserError
from boka.schema.identity import TenantType, Viewer


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

    @classmethod
    def from_settings(cls, settings: BusinessSettings) -> BusinessSettingsType:
        return cls(**vars(settings))


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

    @classmethod
    def from_profile(cls, profile: PublicProfile, services: list[Service]) -> BusinessPage:
        return cls(
            slug=profile.tenant.slug, name=profile.name, time_zone=profile.time_zone,
            currency=profile.currency, locale=profile.locale, logo_url=profile.logo_url,
            brand_color=profile.brand_color, booking_page_title=profile.booking_page_title,
            booking_page_intro=profile.booking_page_intro,
            services=[PublicService.from_model(service) for service in services],
        )
