"""The Runtime a job function works with.

In embedded mode jobs run inside the app process and share its Runtime (and so its SQLite
writer lock). In ``worker.py`` every job shares the worker process's Runtime, built once on its
event loop (boka/jobs/job_loop.py), and so does the relay's consumers in the relay process.
Anywhere else (a job function called on its own) a Runtime is built for the call and closed
after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from boka.runtime import Runtime

_current_runtime: ContextVar[Runtime | None] = ContextVar("boka_job_runtime", default=None)


def bind_runtime(runtime: Runtime | None) -> Token[Runtime | None]:
    """Make ``runtime`` the one job functions see in the current context (embedded mode)."""
    return _current_runtime.set(runtime)


def unbind_runtime(token: Token[Runtime | None]) -> None:
    _current_runtime.reset(token)


@asynccontextmanager
async def job_runtime() -> AsyncIterator[Runtime]:
    """The Runtime for this job: the app's own in embedded mode, else one built for the job."""
    runtime = _current_runtime.get()
    if runtime is not None:
        yield runtime
        return
    from boka.config import get_settings
    from boka.runtime import Runtime

    runtime = Runtime.from_settings(get_settings())
    token = _current_runtime.set(runtime)
    try:
        yield runtime
    finally:
        _current_runtime.reset(token)
        await runtime.close()
