"""Benchmark: does the time a refused sign-in takes tell an attacker anything?

    .venv/bin/python -m bench.sign_in_timing      (needs PostgreSQL; BOKA_TEST_DATABASE_URL)

Creates a throwaway database and times sign_in() for an unknown email, a wrong password and a
locked account (right password), interleaved round by round so machine noise hits all three
alike. Prints each median and its ratio to the wrong-password baseline: all three should be
~1.0, since every refusal costs one argon2 verification and one write.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import timedelta

from boka.config import Settings
from boka.db import Database, create_engine
from boka.errors import UserInputError
from boka.identity.accounts import register_user
from boka.identity.devices import DeviceInfo
from boka.identity.policy import IdentityPolicy
from boka.identity.signin import sign_in
from boka.migrations import upgrade_to_head
from boka.models.security import AccountLockout
from boka.models.types import utcnow
from bench.availability import SERVER, _admin
from sqlalchemy.engine import make_url

ROUNDS = 30
PASSWORD = "a perfectly fine passphrase"


async def _refusal_time(database: Database, policy: IdentityPolicy, email: str, password: str, ip: str) -> float:
    started = time.perf_counter()
    try:
        await sign_in(database, policy, tenant=None, email=email, password=password,
                      device=DeviceInfo(ip_address=ip, user_agent="bench"))
    except UserInputError:
        return time.perf_counter() - started
    raise AssertionError(f"{email} was let in")


async def measure(database: Database) -> dict[str, float]:
    # A huge threshold: the wrong-password account must never lock during the run.
    policy = IdentityPolicy.from_settings(Settings(lockout_threshold=10_000, suspicious_failure_burst=10_000))
    async with database.transaction(write=True) as db:
        await register_user(db, email="wrong@bench.test", password=PASSWORD)
        locked = await register_user(db, email="locked@bench.test", password=PASSWORD)
        db.add(AccountLockout(user_id=locked.id, lockout_count=1, locked_until=utcnow() + timedelta(days=1)))
    cases = {
        "unknown email": ("nobody@bench.test", "whatever password"),
        "wrong password": ("wrong@bench.test", "whatever password"),
        "locked account": ("locked@bench.test", PASSWORD),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_number in range(ROUNDS + 3):
        for name, (email, password) in cases.items():
            elapsed = await _refusal_time(database, policy, email, password, f"10.0.{round_number}.1")
            if round_number >= 3:  # warm-up rounds discarded
                samples[name].append(elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


async def main() -> None:
    name = f"boka_bench_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        database = Database(create_engine(Settings(database_url=url)))
        try:
            medians = await measure(database)
        finally:
            await database.dispose()
        baseline = medians["wrong password"]
        for case, median in medians.items():
            print(f"{case:15s} median {median * 1000:7.1f} ms   ratio {median / baseline:4.2f}")
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
