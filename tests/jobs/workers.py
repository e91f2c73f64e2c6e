"""``python worker.py`` as a real subprocess for the job tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from boka.migrations import PROJECT_ROOT
from tests.servers import clean_env, free_port

# Quick recovery settings so a dead worker's job comes back within seconds in tests.
FAST_RECOVERY = {
    "worker_ttl_seconds": "16",
    "worker_maintenance_seconds": "1",
    "worker_job_monitoring_seconds": "1",
    "worker_abandoned_grace_seconds": "2",
}


def worker_env(redis_url: str, **settings: str) -> dict[str, str]:
    """A worker's environment: fast recovery, and a metrics port of its own (the default one
    may be taken on a shared machine)."""
    defaults = {**FAST_RECOVERY, "worker_metrics_port": str(free_port())}
    return clean_env(redis_url=redis_url, **{**defaults, **settings})


def run_worker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "worker.py", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@contextmanager
def worker_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running worker in a process group of its own (its work horses and scheduler
    included), stopped with SIGTERM at the end unless the test killed it already."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "worker.py"], cwd=PROJECT_ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and every process under it, as when its container is killed. (RQ puts
    each work horse in a process group of its own, so killing the worker's group is not enough.)"""
    pids = _descendants(process.pid) + [process.pid]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
