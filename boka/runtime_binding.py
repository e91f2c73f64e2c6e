"""Which Runtime the job functions of this context use: the app's in embedded mode, the worker's
in ``worker.py``, the relay process's for its consumers.

Kept apart from :mod:`boka.jobs.context` (which builds a Runtime when none is bound) so that the
modules the Runtime itself is made of (the live layer, the in-process job queue) can bind one
without importing :mod:`boka.runtime`: to them it is an opaque object they pass on.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_current_runtime: ContextVar[object | None] = ContextVar("boka_job_runtime", default=None)


def bind_runtime(runtime: object | None) -> Token[object | None]:
    """Make ``runtime`` the one job functions see in the current context (embedded mode)."""
    return _current_runtime.set(runtime)


def unbind_runtime(token: Token[object | None]) -> None:
    _current_runtime.reset(token)


def bound_runtime() -> object | None:
    return _current_runtime.get()
