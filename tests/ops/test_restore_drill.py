"""The restore drill, for real (issue 17 item 4): a throwaway PostgreSQL cluster with continuous
WAL archiving (ops/archive-wal.sh), Boka's migrations and the app booking on it, a base backup
(ops/base-backup.sh), more bookings, then the cluster is killed and its data directory deleted.
ops/restore_drill.py restores the backup and the archived WAL to a point in time into a fresh
cluster, starts the app against it and measures RTO (until /readyz answers) and RPO (the last
booking committed before the target is there; the one after it is not)."""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.servers import clean_env, free_port, uvicorn_server

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
BUDGET_SECONDS = 120
pytestmark = pytest.mark.ops_drill


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]))
    if not found:
        pytest.skip("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are not installed")
    return Path(found[-1]).parent


RUN_AS = "postgres" if os.geteuid() == 0 else ""  # PostgreSQL refuses to run as root


class Cluster:
    """A PostgreSQL cluster of this test's own: its directory, port and sockets."""

    def __init__(self, work: Path, pg_bin: Path) -> None:
        self.work, self.bin = work, pg_bin
        self.data = work / "primary"
        self.archive = work / "wal"
        self.backups = work / "backups"
        self.port = free_port()
        self.running = False

    def run(self, *command: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
        full = ["runuser", "-u", RUN_AS, "--", *command] if RUN_AS else list(command)
        environment = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", **(env or {})}
        result = subprocess.run(full, capture_output=True, text=True, env=environment, timeout=timeout)
        assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout.strip()

    def sql(self, query: str, database: str = "boka") -> str:
        return self.run(str(self.bin / "psql"), "-h", str(self.work), "-p", str(self.port),
                        "-U", "postgres", "-d", database, "-XAtq", "-c", query)

    def url(self, role: str, password: str | None = None) -> str:
        auth = f"{role}:{password}" if password else role
        return f"postgresql+asyncpg://{auth}@127.0.0.1:{self.port}/boka"

    def create(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# the restore drill's primary\n"
                "wal_level = replica\n"
                "archive_mode = on\n"
                f"archive_command = '{OPS / 'archive-wal.sh'} %p %f {self.archive}'\n"
                "archive_timeout = 60\n"
                "max_wal_senders = 4\n"
                "fsync = off\n"  # a throwaway cluster; the archive copy still syncs
            )
        self.start()
        self.sql("create database boka", database="postgres")

    def start(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.work / "primary.log"),
                 "-o", f"-p {self.port} -k {self.work} -c listen_addresses=127.0.0.1", "-w", "start")
        self.running = True

    def crash(self) -> None:
        """The server dies (no shutdown checkpoint), then its disk is lost."""
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False
        shutil.rmtree(self.data)

    def stop(self) -> None:
        if self.running:
            self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if RUN_AS and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
    work = Path(tempfile.mkdtemp(prefix="boka-drill-"))
    work.chmod(0o755)
    if RUN_AS:
        shutil.chown(work, RUN_AS, RUN_AS)
    made = Cluster(work, pg_bin)
    try:
        yield made
    finally:
        made.stop()
        restored = work / "restored"
        if (restored / "postmaster.pid").exists():
            made.run(str(pg_bin / "pg_ctl"), "-D", str(restored), "-m", "immediate", "-w", "stop")
        shutil.rmtree(work, ignore_errors=True)


def _app_env(cluster: Cluster) -> dict[str, str]:
    return clean_env(database_url=cluster.url("boka_app", "boka_app"),
                     background_database_url=cluster.url("boka_background", "boka_background"))


def _python(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


class Booker:
    """Books the demo tenant's haircut as guests, over GraphQL, one free slot after another."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, headers={"X-Tenant": "demo"}, timeout=20)
        services = self.gql("{ services { edges { node { id name } } } }")["services"]["edges"]
        self.service = next(e["node"]["id"] for e in services if e["node"]["name"] == "Haircut")
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
        slots = self.gql(
            "query($s: ID!, $f: DateTime!, $t: DateTime!) { availability(serviceId: $s, from: $f, to: $t) { start } }",
            {"s": self.service, "f": start.isoformat(), "t": (start + timedelta(days=7)).isoformat()},
        )["availability"]
        spaced: list[str] = []  # two hours apart: each booking finds someone free
        for start in sorted({slot["start"] for slot in slots}, key=datetime.fromisoformat):
            if not spaced or datetime.fromisoformat(start) - datetime.fromisoformat(spaced[-1]) >= timedelta(hours=2):
                spaced.append(start)
        self.slots = iter(spaced)
        self.count = 0

    def gql(self, query: str, variables: dict | None = None) -> dict:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    def book(self) -> tuple[str, datetime]:
        """A booking, and the moment its commit was acknowledged."""
        self.count += 1
        made = self.gql(
            "mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { id } errors { code message } } }",
            {"i": {"serviceId": self.service, "start": next(self.slots),
                   "customer": {"email": f"drill{self.count}@example.com", "firstName": "Drill"}}},
        )["createBooking"]
        assert made["errors"] == [], (self.count, made)
        committed = datetime.now(UTC)
        kind, _, raw = base64.b64decode(made["booking"]["id"]).decode().partition(":")  # a relay id
        assert kind == "Booking"
        return raw, committed


def test_point_in_time_restore_brings_back_the_last_booking(cluster: Cluster, tmp_path: Path, capsys) -> None:
    """BOKA_DRILL_FILLER_MB=1000 adds a gigabyte of rows before the backups, to measure RTO on
    a 1 GB database (README: "Operating Boka: backups and restore")."""
    began = time.monotonic()
    cluster.create()
    owner = {**_app_env(cluster), "BOKA_MIGRATION_DATABASE_URL": cluster.url("postgres")}
    _python("-m", "boka.migrations", "--create-app-role", env=owner)
    _python("-c", "import asyncio, app; asyncio.run(app._seed())", env=_app_env(cluster))

    backup_env = {"BACKUP_DIR": str(cluster.backups), "WAL_ARCHIVE": str(cluster.archive),
                  "PGHOST": str(cluster.work), "PGPORT": str(cluster.port), "PGUSER": "postgres",
                  "BASE_BACKUPS_KEEP": "1"}
    print(cluster.run(str(OPS / "base-backup.sh"), env=backup_env))  # last night's: retention drops it
    filler_mb = int(os.environ.get("BOKA_DRILL_FILLER_MB", "0"))  # a bigger database, for RTO figures
    if filler_mb:
        cluster.sql("create table drill_filler (id bigint, pad text)")
        for _ in range(filler_mb // 100):
            cluster.sql("insert into drill_filler select g, repeat(md5(g::text), 28) "
                        "from generate_series(1, 110000) g")  # about 100 MB a round

    with uvicorn_server(_app_env(cluster), tmp_path / "primary-app.log") as base:
        booker = Booker(base)
        for _ in range(3):
            booker.book()

        print(cluster.run(str(OPS / "base-backup.sh"), env=backup_env, timeout=600))
        oldest_kept = (next((cluster.backups / "base").iterdir()) / "backup_label").read_text()
        first_wal = oldest_kept.split("(file ", 1)[1].split(")", 1)[0]
        archived = sorted(p.name for p in cluster.archive.iterdir() if len(p.name) == 24)
        assert archived and archived[0] >= first_wal, "WAL older than the kept backup was not cleaned up"
        print(cluster.run(str(OPS / "dump.sh"), "boka", env=backup_env))

        for _ in range(3):
            last_id, committed_at = booker.book()
        time.sleep(0.2)
        target = datetime.now(UTC)  # the point to recover to: after the last booking above
        time.sleep(0.2)
        too_late, _ = booker.book()  # committed after the target: must not come back

    # What archive_timeout (60 s) would do on its own: close the segment and archive it.
    segment = cluster.sql("select pg_walfile_name(pg_switch_wal())")
    for _ in range(100):
        if cluster.sql("select last_archived_wal from pg_stat_archiver") >= segment:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"{segment} was not archived")
    cluster.crash()

    [backup] = sorted((cluster.backups / "base").iterdir())
    [dump] = sorted((cluster.backups / "dumps").glob("boka-*.dump"))
    drill = subprocess.run(
        [sys.executable, str(OPS / "restore_drill.py"), "--backup", str(backup), "--wal", str(cluster.archive),
         "--pgdata", str(cluster.work / "restored"), "--port", str(cluster.port),
         "--target-time", target.isoformat(), "--expect-booking", last_id,
         "--committed-at", committed_at.isoformat(), "--pg-bin", str(cluster.bin), "--keep",
         *(["--run-as", RUN_AS] if RUN_AS else [])],
        cwd=ROOT, capture_output=True, text=True, timeout=BUDGET_SECONDS if not filler_mb else 900,
    )
    assert drill.returncode == 0, drill.stdout + drill.stderr
    figures = json.loads(drill.stdout.strip().splitlines()[-1])
    cluster.data = cluster.work / "restored"  # the restored cluster is the one to stop now
    cluster.running = True

    assert figures["expected_booking_recovered"] is True and figures["rpo_seconds"] == 0.0
    assert figures["bookings_recovered"] == 6
    assert cluster.sql(f"select count(*) from bookings where id = '{too_late}'") == "0"
    # The nightly dump restores too: into another database, with the three bookings made before it.
    cluster.sql("create database from_dump", database="postgres")
    cluster.run(str(cluster.bin / "pg_restore"), "-h", str(cluster.work), "-p", str(cluster.port),
                "-U", "postgres", "--no-owner", "--exit-on-error", "-d", "from_dump", str(dump))
    assert cluster.sql("select count(*) from bookings", database="from_dump") == "3"
    assert figures["rto_seconds"] < 300
    elapsed = time.monotonic() - began
    with capsys.disabled():
        print(f"\nrestore drill: RTO {figures['rto_seconds']} s (recovered in {figures['recovered_seconds']} s, "
              f"database {figures['database_size']}), RPO {figures['rpo_seconds']} s "
              f"(last booking before the target recovered; the one after it not), test {elapsed:.0f} s")
        print(f"restore drill figures: {json.dumps(figures)}")
    if not filler_mb:  # a measurement run (README figures) may take longer
        assert elapsed < BUDGET_SECONDS
