"""The demo tenant `make run` starts with, so a newcomer has something to sign in to."""

from __future__ import annotations

from dataclasses import dataclass

from boka.db import Database
from boka.identity.accounts import register_user
from boka.identity.memberships import add_membership
from boka.models.tenancy import Role
from boka.tenancy import create_tenant, find_tenant

DEMO_SLUG = "demo"
DEMO_PASSWORD = "boka-demo-password"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: Role


DEMO_PEOPLE = (
    DemoPerson("owner@demo.boka.test", "Olivia Owner", Role.OWNER),
    DemoPerson("manager@demo.boka.test", "Max Manager", Role.MANAGER),
    DemoPerson("anna@demo.boka.test", "Anna Stylist", Role.STAFF),
    DemoPerson("ben@demo.boka.test", "Ben Barber", Role.STAFF),
    DemoPerson("cleo@demo.boka.test", "Cleo Colorist", Role.STAFF),
    DemoPerson("carl@example.com", "Carl Customer", Role.CUSTOMER),
    DemoPerson("dana@example.com", "Dana Customer", Role.CUSTOMER),
)


async def seed_demo_tenant(database: Database) -> bool:
    """Create the demo tenant and its people unless it exists. True if it was created now."""
    async with database.transaction(write=True) as db:
        if await find_tenant(db, DEMO_SLUG) is not None:
            return False
        tenant = await create_tenant(
            db,
            name="Demo Studio",
            slug=DEMO_SLUG,
            domain="localhost",  # so http://localhost:8000 finds it without an X-Tenant header
            time_zone="Europe/Berlin",
            currency="EUR",
        )
        for person in DEMO_PEOPLE:
            user = await register_user(
                db, email=person.email, password=DEMO_PASSWORD, full_name=person.full_name
            )
            await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=person.role)
    return True
