"""Restore drill: point-in-time restore into a fresh cluster, measured.

    .venv/bin/python ops/restore_drill.py --backup /backups/boka/base/<stamp> \\
        --wal /backups/boka/wal --pgdata /srv/drill/pgdata --port 5544 \\
        [--target-time '2026-11-30 14:05:00+00'] \\
        [--expect-booking <uuid> --committed-at '2026-11-30T14:04:58Z'] [--run-as postgres]

1. ``ops/restore.sh`` copies the base backup into ``--pgdata`` and sets up recovery;
2. PostgreSQL starts on ``--port`` (127.0.0.1, sockets in the data directory's parent), replays
   the archived WAL up to the target and promotes itself;
3. the schema is checked at Alembic's head (the migrations the running code expects);
4. the app (``uvicorn app:app``) starts against the restored database, as the roles the backup
   holds (``--app-role``, ``--background-role``; passwords from BOKA_APP_DB_PASSWORD and
   BOKA_BACKGROUND_DB_PASSWORD as in the compose file, else the role's name), and the drill
   waits until ``/readyz`` says
   ready: **RTO** is the time from the start of step 1 to that answer;
5. **RPO**: the newest booking recovered against the last one committed before the loss
   (``--expect-booking`` / ``--committed-at``): 0 s when it is there, else how much older the
   newest recovered booking is.

Prints the figures as one JSON object on the last line of stdout. Exits 1 if the expected
booking is missing or the app never became ready. Leaves nothing running (``--keep`` leaves
the restored cluster up and prints how to stop it). Needs PostgreSQL's server binaries
(``--pg-bin``, default the newest /usr/lib/postgresql/*/bin) and this checkout's virtualenv.
PostgreSQL refuses to run as root: as root, give ``--run-as postgres``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def default_pg_bin() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return candidates[-1] if candidates else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Drill:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.pgdata = Path(args.pgdata).resolve()
        self.sockets = self.pgdata.parent
        self.bin = Path(args.pg_bin)
        self.app: subprocess.Popen[bytes] | None = None
        self.started = False

    def as_server_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.args.run_as, "--", *command] if self.args.run_as else command

    def run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
        env = {**os.environ, "PATH": f"{self.bin}:{os.environ.get('PATH', '')}"}
        return subprocess.run(self.as_server_user(command), check=True, text=True,
                              capture_output=True, env=env, **kwargs)

    def sql(self, query: str) -> str:
        return self.run([str(self.bin / "psql"), "-h", str(self.sockets), "-p", str(self.args.port),
                         "-U", self.args.superuser, "-d", self.args.database, "-XAtq", "-c", query]).stdout.strip()

    def restore(self) -> None:
        command = [str(ROOT / "ops" / "restore.sh"), "--backup", self.args.backup,
                   "--wal", self.args.wal, "--pgdata", str(self.pgdata)]
        if self.args.target_time:
            command += ["--target-time", self.args.target_time]
        self.run(command)

    def start_postgres(self) -> None:
        options = f"-p {self.args.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        self.run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-o", options,
                  "-l", str(self.pgdata.parent / "restored.log"), "-w", "-t", "600", "start"])
        self.started = True
        deadline = time.monotonic() + 600
        while True:  # "started" is accepting connections; wait for the end of recovery too
            try:
                if self.sql("select pg_is_in_recovery()") == "f":
                    return
            except subprocess.CalledProcessError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the restored cluster did not finish recovery")
            time.sleep(0.1)

    def check_schema(self) -> str:
        from alembic.script import ScriptDirectory

        from boka.migrations import alembic_config

        head = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
        current = self.sql("select version_num from alembic_version")
        if current != head:
            raise SystemExit(f"restored schema is at {current}, the code expects {head}")
        return current

    def database_url(self, role: str, password: str) -> str:
        return (f"postgresql+asyncpg://{quote(role)}:{quote(password or role)}"
                f"@127.0.0.1:{self.args.port}/{self.args.database}")

    def start_app(self) -> str:
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("BOKA_")}
        env.update({
            "BOKA_DATABASE_URL": self.database_url(self.args.app_role, self.args.app_password),
            "BOKA_BACKGROUND_DATABASE_URL": self.database_url(
                self.args.background_role, self.args.background_password),
            "BOKA_SECRET_KEY": os.environ.get("BOKA_SECRET_KEY", "restore-drill-secret-key-not-for-production"),
        })
        log = (self.pgdata.parent / "drill-app.log").open("wb")
        self.app = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        return f"http://127.0.0.1:{port}"

    def wait_ready(self, base: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.app is not None
            if self.app.poll() is not None:
                raise SystemExit(f"the app exited with {self.app.returncode} (see drill-app.log)")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise SystemExit("the app did not become ready against the restored cluster")

    def stop(self) -> None:
        if self.app is not None and self.app.poll() is None:
            self.app.terminate()
            try:
                self.app.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.app.kill()
        if self.started and not self.args.keep:
            self.run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backup", required=True, help="a base backup directory (ops/base-backup.sh)")
    parser.add_argument("--wal", required=True, help="the WAL archive (ops/archive-wal.sh)")
    parser.add_argument("--pgdata", required=True, help="a fresh directory for the restored cluster")
    parser.add_argument("--port", type=int, default=5544)
    parser.add_argument("--target-time", default="", help="recover up to this moment (default: all WAL)")
    parser.add_argument("--database", default="boka")
    parser.add_argument("--superuser", default="postgres")
    parser.add_argument("--app-role", default="boka_app")
    parser.add_argument("--background-role", default="boka_background")
    # The roles' passwords as the compose file sets them (default: the role's name, as there).
    parser.add_argument("--app-password", default=os.environ.get("BOKA_APP_DB_PASSWORD", ""))
    parser.add_argument("--background-password", default=os.environ.get("BOKA_BACKGROUND_DB_PASSWORD", ""))
    parser.add_argument("--expect-booking", default="",
                        help="the database id (uuid) of the last booking committed before the loss")
    parser.add_argument("--committed-at", default="", help="when that booking was committed (ISO 8601)")
    parser.add_argument("--pg-bin", default=default_pg_bin())
    parser.add_argument("--run-as", default="", help="run PostgreSQL as this user (needed as root)")
    parser.add_argument("--ready-timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="leave the restored cluster running")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.expect_booking:
        args.expect_booking = str(uuid.UUID(args.expect_booking))  # the database id, never SQL
    drill = Drill(args)
    figures: dict[str, object] = {}
    started = time.monotonic()
    try:
        drill.restore()
        figures["restore_files_seconds"] = round(time.monotonic() - started, 2)
        drill.start_postgres()
        figures["recovered_seconds"] = round(time.monotonic() - started, 2)
        figures["schema_revision"] = drill.check_schema()
        base = drill.start_app()
        drill.wait_ready(base, args.ready_timeout)
        figures["rto_seconds"] = round(time.monotonic() - started, 2)
        figures["database_size"] = drill.sql(f"select pg_size_pretty(pg_database_size('{args.database}'))")
        newest = drill.sql("select id || ' ' || to_char(created_at at time zone 'UTC', "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') from bookings order by created_at desc limit 1")
        figures["bookings_recovered"] = int(drill.sql("select count(*) from bookings"))
        figures["newest_booking"] = newest
        ok = True
        if args.expect_booking:
            found = drill.sql(f"select count(*) from bookings where id = '{args.expect_booking}'") == "1"
            figures["expected_booking_recovered"] = found
            ok = found
            if args.committed_at:
                committed = datetime.fromisoformat(args.committed_at.replace("Z", "+00:00"))
                if found:
                    figures["rpo_seconds"] = 0.0
                elif newest:
                    recovered = datetime.fromisoformat(newest.split(" ", 1)[1].replace("Z", "+00:00"))
                    figures["rpo_seconds"] = round(max((committed - recovered).total_seconds(), 0), 3)
    finally:
        drill.stop()
    if args.keep:
        print(f"left running: {args.pg_bin}/pg_ctl -D {drill.pgdata} stop", file=sys.stderr)
    print(json.dumps(figures))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
