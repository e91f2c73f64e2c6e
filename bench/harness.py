"""What the benchmarks share: a throwaway PostgreSQL database migrated to head with its own
app role (so row level security binds, as in production), a real uvicorn process, and wrk as
the load generator (an efficient C client, so the server, not the client, is what is measured).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from boka.config import Settings
from boka.migrations import PROJECT_ROOT, migrate

SERVER = os.environ.get("BOKA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BOKA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "bench-secret-key-not-for-production"
# How long a server may take to answer its health check: importing the app alone took 30 s of
# wall time on a shared 2-core machine at load 17 (8 s of CPU).
STARTUP_SECONDS = float(os.environ.get("BENCH_STARTUP_SECONDS", "300"))


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(SERVER))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


@dataclass(frozen=True)
class BenchDatabase:
    owner_url: str  # the server's superuser, owner of the tables
    app_url: str  # the app's own role: no superuser, owns nothing, so RLS applies
    name: str

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": self.app_url, "migration_database_url": self.owner_url,
            "secret_key": SECRET, "redis_url": None,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def throwaway_database() -> Iterator[BenchDatabase]:
    """A fresh database migrated to head, and an app role granted its privileges; both dropped
    at the end. Call outside a running event loop."""
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    name, role = f"boka_bench_{suffix}", f"boka_bench_app_{suffix}"
    _admin(f'CREATE DATABASE "{name}"')
    owner_url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    app_url = make_url(owner_url).set(username=role, password=uuid.uuid4().hex).render_as_string(
        hide_password=False)
    database = BenchDatabase(owner_url, app_url, name)
    try:
        migrate(database.settings(), create_app_role=True)
        yield database
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        try:
            _admin(f'DROP ROLE IF EXISTS "{role}"')
        except asyncpg.PostgresError:
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(**boka: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOKA_")}
    env.update({"BOKA_SECRET_KEY": SECRET, "BOKA_LOG_LEVEL": "WARNING", "BOKA_SEED_DEMO": "false"})
    env.update({f"BOKA_{key.upper()}": value for key, value in boka.items()})
    return env


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    pid: int  # the server process, e.g. to read its memory


@contextmanager
def serve(env: dict[str, str], target: str = "app:app", *, health: str = "/healthz",
          cwd: Path = PROJECT_ROOT) -> Iterator[str]:
    """``uvicorn TARGET`` (one worker, uvloop + httptools as in production) in its own process;
    yields its base URL."""
    with serve_process(env, target, health=health, cwd=cwd) as served:
        yield served.base


@contextmanager
def serve_process(env: dict[str, str], target: str = "app:app", *, health: str = "/healthz",
                  cwd: Path = PROJECT_ROOT) -> Iterator[Served]:
    """``serve``, also telling the server's process id."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--log-level", "warning",
            "--no-access-log"]
    with serve_command(argv, f"http://127.0.0.1:{port}", env=env, health=health, cwd=cwd) as served:
        yield served


@contextmanager
def serve_command(argv: list[str], base: str, *, env: dict[str, str] | None = None,
                  health: str = "/healthz", cwd: Path = PROJECT_ROOT) -> Iterator[Served]:
    """Any server process; yields it (``base`` and ``pid``) once ``base + health`` answers
    below 500."""
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv[:3]} exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(base + health, timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv[:3]} did not start; see {log.name}")
            time.sleep(0.2)
        yield Served(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_bytes(pid: int) -> int:
    """A process's resident memory (VmRSS), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors + non-2xx

    def describe(self) -> str:
        return f"{self.requests_per_second:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"


_LUA_TEMPLATE = """
wrk.method = "{method}"
wrk.body = {body}
{headers}
{extra}
"""


def wrk(url: str, *, body: str | None = None, headers: dict[str, str] | None = None,
        connections: int = 32, seconds: float = 8, method: str = "POST",
        lua_extra: str = "") -> Load:
    """Run wrk (2 threads) against ``url``; ``lua_extra`` may define ``request()`` to vary bodies."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    header_lines = "\n".join(
        f"wrk.headers[ {_lua(k)} ] = {_lua(v)}" for k, v in (headers or {}).items())
    script = _LUA_TEMPLATE.format(method=method, body=_lua(body) if body is not None else "nil",
                                  headers=header_lines, extra=lua_extra)
    script += """
-- Answers other than 200 with data, or carrying GraphQL errors (top level or a payload's),
-- count as failures.
local graphql_errors = 0
local threads = {}
setup = (function(previous)
  return function(thread)
    table.insert(threads, thread)
    if previous then previous(thread) end
  end
end)(setup)
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"data"', 1, true)
      or string.find(body, '"errors":%s*%[%s*{') then
    graphql_errors = graphql_errors + 1
    wrk.thread:set("graphql_errors", graphql_errors)
  end
end
done = function(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + (tonumber(thread:get("graphql_errors")) or 0) end
  io.write(string.format("BENCH %d %d %d %d %f %f\\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status + failed, summary.duration, latency:percentile(50), latency:percentile(99)))
end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    completed = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", handle.name, url],
        capture_output=True, text=True, check=True,
    )
    match = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)$", completed.stdout, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{completed.stdout}\n{completed.stderr}")
    requests, socket_errors, status_errors, duration_us = (int(match.group(i)) for i in range(1, 5))
    return Load(
        requests_per_second=requests / (duration_us / 1e6),
        p50_ms=float(match.group(5)) / 1000, p99_ms=float(match.group(6)) / 1000,
        requests=requests, errors=socket_errors + status_errors,
    )


def _lua(value: str) -> str:
    return "[==[" + value + "]==]"


def median_load(loads: list[Load]) -> Load:
    """The round with the median throughput (its latencies come along with it)."""
    ordered = sorted(loads, key=lambda load: load.requests_per_second)
    return ordered[len(ordered) // 2]
