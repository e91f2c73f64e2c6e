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
from typing import TYPE_CHECKING, cast

from boka.runtime_binding import bind_runtime, bound_runtime, unbind_runtime

if TYPE_CHECKING:
    from boka.runtime import Runtime

__all__ = ["bind_runtime", "job_runtime", "unbind_runtime"]


@asynccontextmanager
async def job_runtime() -> AsyncIterator[Runtime]:
    """The Runtime for this job: the app's own in embedded mode, else one built for the job."""
    bound = bound_runtime()
    if bound is not None:
        yield cast("Runtime", bound)
        return
    from boka.config import get_settings
    from boka.runtime import Runtime

    runtime = Runtime.from_settings(get_settings())
    token = bind_runtime(runtime)
    try:
        yield runtime
    finally:
        unbind_runtime(token)
        await runtime.close()
