"""A small salon written straight into the database for the analytics tests, and the figures
recomputed from it by brute force in Python (no SQL), to compare with what the API answers."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.payments import Payment, Refund
from boka.models.schedules import TimeOff, WeeklyHours
from boka.models.tenancy import Role, Tenant
from tests.support import Person, World

ZONE = "Europe/Berlin"
BERLIN = ZoneInfo(ZONE)
# Two weeks around the spring DST change (Sunday 29 March 2026, 02:00 -> 03:00).
FIRST, LAST = date(2026, 3, 23), date(2026, 4, 5)
# Anna: Monday to Friday 09:00-17:00 with a lunch hour, a day off on Wednesday 25 March.
# Ben: Monday to Saturday 10:00-14:00.
ANNA_HOURS = {day: [(time(9), time(17))] for day in range(5)}
ANNA_BREAK = (time(12), time(13))
ANNA_OFF = date(2026, 3, 25)
BEN_HOURS = {day: [(time(10), time(14))] for day in range(6)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), BERLIN).astimezone(UTC)


@dataclass
class Row:
    booking: Booking
    collected: int = 0  # succeeded payments
    refunded: int = 0


@dataclass
class Salon:
    tenant: Tenant
    owner: Person
    manager: Person
    anna: Person
    ben: Person
    customer: Person
    services: dict[str, Service]
    staff: dict[str, StaffMember]
    rows: list[Row] = field(default_factory=list)


async def build_salon(world: World, *, random_bookings: int = 40, seed: int = 3) -> Salon:
    tenant = await world.tenant("analytics", time_zone=ZONE)
    people = {role: await world.person(tenant, role) for role in (Role.OWNER, Role.MANAGER)}
    anna, ben = await world.person(tenant, Role.STAFF), await world.person(tenant, Role.STAFF)
    customer = await world.person(tenant, Role.CUSTOMER)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        services = {
            "cut": Service(tenant_id=tenant.id, name="Cut", duration_minutes=60, price_cents=5000,
                           currency="EUR"),
            "colour": Service(tenant_id=tenant.id, name="Colour", duration_minutes=90,
                              price_cents=8000, currency="EUR"),
            "yoga": Service(tenant_id=tenant.id, name="Yoga", duration_minutes=60,
                            price_cents=2000, currency="EUR", capacity=8),
        }
        db.add_all(services.values())
        staff = {
            "anna": StaffMember(tenant_id=tenant.id, user_id=anna.user.id, display_name="Anna",
                                time_zone=ZONE),
            "ben": StaffMember(tenant_id=tenant.id, user_id=ben.user.id, display_name="Ben",
                               time_zone=ZONE),
        }
        db.add_all(staff.values())
        await db.flush()
        for member in staff.values():
            for service in services.values():
                db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id,
                                    service_id=service.id))
        for weekday, hours in ANNA_HOURS.items():
            for start, end in hours:
                db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=staff["anna"].id,
                                   weekday=weekday, start_time=start, end_time=end))
            db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=staff["anna"].id,
                               weekday=weekday, start_time=ANNA_BREAK[0], end_time=ANNA_BREAK[1],
                               is_break=True))
        for weekday, hours in BEN_HOURS.items():
            for start, end in hours:
                db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=staff["ben"].id,
                                   weekday=weekday, start_time=start, end_time=end))
        db.add(TimeOff(tenant_id=tenant.id, staff_member_id=staff["anna"].id,
                       starts_at=at(ANNA_OFF, 0), ends_at=at(ANNA_OFF + timedelta(days=1), 0)))
        customers = [Customer(tenant_id=tenant.id, email=f"c{i}@example.com") for i in range(8)]
        db.add_all(customers)
        await db.flush()
        salon = Salon(tenant, people[Role.OWNER], people[Role.MANAGER], anna, ben, customer,
                      services, staff)
        taken: list[tuple[str, datetime, datetime]] = []

        def free(name: str, start: datetime, minutes: int) -> bool:
            end = start + timedelta(minutes=minutes)
            return not any(n == name and s < end and start < e for n, s, e in taken)

        def book(staff_name: str, service_name: str, start: datetime, status: BookingStatus,
                 who: Customer, *, charged: int | None = None, lead: timedelta = timedelta(days=2),
                 slot_key: str | None = None, collected: int = 0, refunded: int = 0) -> None:
            service = services[service_name]
            booking_id = uuid.uuid4()
            booking = Booking(
                id=booking_id, tenant_id=tenant.id, customer_id=who.id, service_id=service.id,
                staff_id=staff[staff_name].id, status=status, start_time=start,
                end_time=start + timedelta(minutes=service.duration_minutes),
                block_start=start, block_end=start + timedelta(minutes=service.duration_minutes),
                slot_key=slot_key or str(booking_id), price_cents=service.price_cents
                if charged is None else charged, list_price_cents=service.price_cents,
                currency="EUR", created_at=start - lead, updated_at=start - lead,
            )
            db.add(booking)
            salon.rows.append(Row(booking, collected, refunded))
            taken.append((staff_name, start, booking.end_time))

        c = customers
        # Hand-built: the local day boundaries around the DST change, every status and kind of
        # money, a class session of three seats, and bookings just outside the period.
        book("anna", "cut", at(FIRST, 10), BookingStatus.CONFIRMED, c[0], charged=4500)
        book("anna", "cut", at(FIRST, 0, 30), BookingStatus.COMPLETED, c[1],  # 22 Mar in UTC
             lead=timedelta(hours=5))
        book("ben", "colour", at(date(2026, 3, 29), 23, 30), BookingStatus.COMPLETED, c[1])
        book("ben", "colour", at(date(2026, 3, 30), 0, 30), BookingStatus.CANCELLED, c[2],
             collected=8000, refunded=4000)  # 29 Mar in UTC
        book("anna", "cut", at(date(2026, 4, 1), 11), BookingStatus.NO_SHOW, c[2],
             collected=3000)
        session = f"{services['yoga'].id}:{staff['ben'].id}:{at(date(2026, 4, 2), 10).isoformat()}"
        for who, status in ((c[3], BookingStatus.CONFIRMED), (c[4], BookingStatus.CONFIRMED),
                            (c[5], BookingStatus.PENDING)):
            book("ben", "yoga", at(date(2026, 4, 2), 10), status, who, slot_key=session)
        book("anna", "cut", at(date(2026, 4, 6), 0), BookingStatus.CONFIRMED, c[6])  # after
        book("anna", "cut", at(date(2026, 3, 22), 23, 59), BookingStatus.CONFIRMED, c[7])  # before
        book("anna", "colour", at(date(2026, 3, 1), 10), BookingStatus.COMPLETED, c[0])  # before

        rng = random.Random(seed)
        while random_bookings:
            name = rng.choice(["anna", "ben"])
            start = at(FIRST + timedelta(days=rng.randrange(14)), rng.randrange(8, 20))
            status = rng.choice(list(BookingStatus))
            service = rng.choice(["cut", "colour"])
            if not free(name, start, services[service].duration_minutes):
                continue
            paid = rng.choice([0, 0, 1000, services[service].price_cents])
            book(name, service, start, status, rng.choice(customers),
                 charged=services[service].price_cents - rng.choice([0, 0, 500]),
                 lead=timedelta(minutes=rng.randrange(10, 20000)),
                 collected=paid, refunded=rng.choice([0, paid // 2]) if paid else 0)
            random_bookings -= 1
        await db.flush()
        for index, row in enumerate(salon.rows):
            if row.collected:
                payment = Payment(tenant_id=tenant.id, booking_id=row.booking.id, kind="booking",
                                  provider="offline", amount_cents=row.collected, currency="EUR",
                                  status="succeeded")
                db.add(payment)
                db.add(Payment(tenant_id=tenant.id, booking_id=row.booking.id, kind="no_show_fee",
                               provider="offline", amount_cents=999, currency="EUR",
                               status="failed"))  # never collected: counts for nothing
                await db.flush()
                if row.refunded:
                    db.add(Refund(tenant_id=tenant.id, payment_id=payment.id,
                                  booking_id=row.booking.id, idempotency_key=f"r{index}",
                                  provider="offline", amount_cents=row.refunded, currency="EUR",
                                  status="manual", reason="cancelled"))
                    db.add(Refund(tenant_id=tenant.id, payment_id=payment.id,
                                  booking_id=row.booking.id, idempotency_key=f"f{index}",
                                  provider="offline", amount_cents=1, currency="EUR",
                                  status="failed", reason="cancelled"))
    return salon


# --- the brute force ------------------------------------------------------------------------------


def local_day(instant: datetime) -> date:
    return instant.astimezone(BERLIN).date()


def in_period(row: Row, staff_id: uuid.UUID | None = None) -> bool:
    return (FIRST <= local_day(row.booking.start_time) <= LAST
            and (staff_id is None or row.booking.staff_id == staff_id))


def figures(rows: list[Row]) -> dict[str, Any]:
    """What the API's AnalyticsFigures should say about ``rows``."""
    counts = Counter(row.booking.status for row in rows)
    gross = discounts = refunds = 0
    leads = []
    for row in rows:
        b = row.booking
        if b.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
            gross += row.collected
        else:
            gross += b.list_price_cents or 0
            discounts += (b.list_price_cents or 0) - b.price_cents
        refunds += row.refunded
        if b.status is not BookingStatus.CANCELLED:
            leads.append((b.start_time - b.created_at).total_seconds() / 3600)
    total = len(rows)
    booked = total - counts[BookingStatus.CANCELLED]
    money = lambda amount: {"amount": amount, "currency": "EUR"}  # noqa: E731
    return {
        "bookings": {"total": total, "pending": counts[BookingStatus.PENDING],
                     "confirmed": counts[BookingStatus.CONFIRMED],
                     "completed": counts[BookingStatus.COMPLETED],
                     "cancelled": counts[BookingStatus.CANCELLED],
                     "noShow": counts[BookingStatus.NO_SHOW]},
        "revenue": [] if not rows else [{
            "gross": money(gross), "discounts": money(discounts), "refunds": money(refunds),
            "net": money(gross - discounts - refunds)}],
        "cancellationRate": counts[BookingStatus.CANCELLED] / total if total else 0.0,
        "noShowRate": counts[BookingStatus.NO_SHOW] / booked if booked else 0.0,
        "averageLeadTimeHours": sum(leads) / len(leads) if leads else None,
    }


def booked_minutes(rows: list[Row]) -> int:
    """Appointments not cancelled, and each class session once."""
    seen: set[str] = set()
    minutes = 0.0
    for row in rows:
        b = row.booking
        if b.status is BookingStatus.CANCELLED or b.slot_key in seen:
            continue
        seen.add(b.slot_key)
        minutes += (b.end_time - b.start_time).total_seconds() / 60
    return round(minutes)


def working_minutes(name: str) -> int:
    """Minute by minute over the period's local days: in the hours, not in the break, not off."""
    minutes = 0
    day = FIRST
    while day <= LAST:
        hours = (ANNA_HOURS if name == "anna" else BEN_HOURS).get(day.weekday(), [])
        if not (name == "anna" and day == ANNA_OFF):
            for start, end in hours:
                wall = datetime.combine(day, start)
                while wall.time() < end:
                    if not (name == "anna" and ANNA_BREAK[0] <= wall.time() < ANNA_BREAK[1]):
                        minutes += 1
                    wall += timedelta(minutes=1)
        day += timedelta(days=1)
    return minutes


def new_and_returning(rows: list[Row], all_rows: list[Row]) -> tuple[int, int]:
    seen = {row.booking.customer_id for row in rows
            if row.booking.status is not BookingStatus.CANCELLED}
    before = {row.booking.customer_id for row in all_rows
              if row.booking.status is not BookingStatus.CANCELLED
              and local_day(row.booking.start_time) < FIRST}
    return len(seen - before), len(seen & before)


def by_day(rows: list[Row]) -> dict[date, list[Row]]:
    days: dict[date, list[Row]] = defaultdict(list)
    for row in rows:
        days[local_day(row.booking.start_time)].append(row)
    return days
