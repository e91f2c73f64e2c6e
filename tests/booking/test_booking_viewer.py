"""BookingViewer.sees (judged on one read of a booking, for all live subscribers) must say
exactly what visible_booking (the SQL rule, asked per principal) says."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from boka.booking.access import BookingViewer, booking_facts, visible_booking
from boka.booking.availability import private_slot_key
from boka.identity.principal import ApiKeyIdentity, Principal
from boka.identity.rbac import grants_for_key_scopes
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.support import BookingWorld
from tests.support import World


async def test_the_viewer_rule_matches_the_sql_rule_for_every_principal_and_booking(app: Any, world: World) -> None:
    salon = await world.tenant("salon")
    other = await world.tenant("other")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(salon, staff_count=2)
    elsewhere = await booking_world.staffed_service(other)
    manager = await world.person(salon, Role.MANAGER)
    owner = await world.person(salon, Role.OWNER)
    carl = await world.person(salon, Role.CUSTOMER, email="carl@example.com")
    dana = await world.person(salon, Role.CUSTOMER, email="dana@example.com")
    stranger = await world.person(None, None)
    admin = await world.person(None, None, superadmin=True)
    # the staff member of the first salon staff is also a customer elsewhere: ids must not mix
    staff_user = staffed.people[0].user

    now = utcnow()
    database = world.runtime.database
    async with database.transaction(salon.id, write=True) as db:
        linked_carl = Customer(tenant_id=salon.id, email="carl@example.com", user_id=carl.user.id,
                               user_linked_at=now - timedelta(days=1))
        unlinked_dana = Customer(tenant_id=salon.id, email="dana@example.com")
        staff_as_customer = Customer(tenant_id=salon.id, email=staffed.people[0].email,
                                     user_id=staff_user.id, user_linked_at=now - timedelta(days=1))
        db.add_all([linked_carl, unlinked_dana, staff_as_customer])
        await db.flush()
    async with database.transaction(other.id, write=True) as db:
        carl_elsewhere = Customer(tenant_id=other.id, email="carl@example.com", user_id=carl.user.id,
                                  user_linked_at=now - timedelta(days=3))
        db.add(carl_elsewhere)
        await db.flush()

    bookings: list[Booking] = []

    async def book(tenant_id: uuid.UUID, customer: Customer, staff_id: uuid.UUID, service_id: uuid.UUID,
                   created_days_ago: int, hour: int) -> None:
        booking_id = uuid.uuid4()
        start = (now + timedelta(days=5)).replace(hour=hour, minute=0, second=0, microsecond=0)
        booking = Booking(
            id=booking_id, tenant_id=tenant_id, customer_id=customer.id, service_id=service_id,
            staff_id=staff_id, status=BookingStatus.CONFIRMED, start_time=start,
            end_time=start + timedelta(minutes=60), block_start=start, block_end=start + timedelta(minutes=60),
            slot_key=private_slot_key(booking_id), price_cents=100, currency="EUR",
            created_at=now - timedelta(days=created_days_ago),
        )
        async with database.transaction(tenant_id, write=True) as db:
            db.add(booking)
        bookings.append(booking)

    service = staffed.service.id
    first, second = staffed.staff[0].id, staffed.staff[1].id
    await book(salon.id, linked_carl, first, service, 0, 9)  # Carl's, since he linked
    await book(salon.id, linked_carl, second, service, 2, 10)  # Carl's email, before he linked
    await book(salon.id, unlinked_dana, second, service, 0, 11)  # Dana's guest booking
    await book(salon.id, staff_as_customer, second, service, 0, 12)  # staff 0 booked as a customer
    await book(other.id, carl_elsewhere, elsewhere.staff[0].id, elsewhere.service.id, 0, 13)

    key = ApiKeyIdentity(id=uuid.uuid4(), name="k", scopes=("bookings:read",))
    principals = [
        Principal.build(user=person.user, session_id=None, tenant=salon, role=role)
        for person, role in [
            (manager, Role.MANAGER), (owner, Role.OWNER), (carl, Role.CUSTOMER), (dana, Role.CUSTOMER),
            (staffed.people[0], Role.STAFF), (staffed.people[1], Role.STAFF), (stranger, None),
        ]
    ] + [
        Principal.build(user=admin.user, session_id=None, tenant=salon, role=None),
        Principal.build(user=manager.user, session_id=None, tenant=other, role=None),
        Principal.build(user=carl.user, session_id=None, tenant=other, role=Role.CUSTOMER),
        Principal.for_api_key(key, salon, grants_for_key_scopes(key.scopes)),
    ]

    seen_any = 0
    for principal, booking in itertools.product(principals, bookings):
        tenant_id = principal.require_tenant().id
        async with database.transaction(tenant_id) as db:
            expected = await visible_booking(db, principal, booking.id) is not None
            facts = await booking_facts(db, tenant_id, booking.id)
        actual = facts is not None and BookingViewer.of(principal).sees(facts)
        assert actual == expected, (principal.role, principal.user and principal.user.email, booking.id)
        seen_any += expected
    assert seen_any >= 10  # the matrix is not trivially all-false


def test_managers_and_owners_of_a_tenant_are_one_viewer() -> None:
    tenant_id = uuid.uuid4()
    from boka.models.identity import User
    from boka.models.tenancy import Tenant

    tenant = Tenant(id=tenant_id, name="S", slug="s", time_zone="UTC")
    viewers = {
        BookingViewer.of(Principal.build(user=User(id=uuid.uuid4(), email=f"{i}@x.test"), session_id=None,
                                         tenant=tenant, role=role))
        for i, role in enumerate([Role.MANAGER, Role.MANAGER, Role.OWNER])
    }
    assert len(viewers) == 1
