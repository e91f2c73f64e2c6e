"""Real server processes for tests that need them: uvicorn (or app.py) on a free local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from boka.migrations import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**boka: str) -> dict[str, str]:
    """This process's environment without any BOKA_ setting, plus the ones given."""
    from tests.conftest import BACKGROUND_URLS

    env = {key: value for key, value in os.environ.items() if not key.startswith("BOKA_")}
    env["BOKA_SECRET_KEY"] = "test-secret-key-not-for-production"
    if "database_url" in boka and "background_database_url" not in boka:
        # the run's app role: all-tenant work connects as its background role, as in the app
        background = BACKGROUND_URLS.get(boka["database_url"])
        if background:
            boka = {**boka, "background_database_url": background}
    env.update({f"BOKA_{key.upper()}": value for key, value in boka.items()})
    return env


def wait_until_healthy(process: subprocess.Popen[bytes], base: str, timeout: float = 180) -> None:
    """``timeout``: importing the app alone took 30 s of wall time on a shared 2-core machine
    at load 17."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy in time")


@contextmanager
def uvicorn_server(env: dict[str, str], log_path: Path, *, allow_errors: bool = False) -> Iterator[str]:
    """``uvicorn app:app`` in its own process; yields its base URL. Its output goes to a file
    (a pipe nobody drains would block the server once full); errors it logged fail the test,
    unless ``allow_errors`` (a test that takes a dependency away on purpose)."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(process, base)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)
    errors = [line for line in log_path.read_text().splitlines() if '"level": "error"' in line]
    assert allow_errors or not errors, "the server logged errors:\n" + "\n".join(errors[:3])


class RedisServer:
    """A redis-server of the test's own on a free port, which the test may stop and start
    again (same port, empty, as after a restart without persistence)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@contextmanager
def redis_server(log_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(log_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
