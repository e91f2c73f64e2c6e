"""Prometheus metrics of job execution (the worker's, or the app's in embedded mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

JOBS_PROCESSED = Counter(
    "boka_jobs_processed_total",
    "Job executions that ended, by function, queue and outcome "
    "(succeeded; retried = failed with retries left; failed = retries exhausted).",
    ["function", "queue", "outcome"],
)
JOB_DURATION = Histogram(
    "boka_job_duration_seconds",
    "Wall time of one job execution, by function and outcome.",
    ["function", "outcome"],
    buckets=JOB_BUCKETS,
)


def record_execution(function: str, queue: str, outcome: str, seconds: float) -> None:
    JOBS_PROCESSED.labels(function=function, queue=queue, outcome=outcome).inc()
    JOB_DURATION.labels(function=function, outcome=outcome).observe(seconds)


class QueueDepthCollector(Collector):
    """``boka_job_queue_depth{queue,state}`` read from the queue backend at scrape time."""

    def __init__(self, depths: Callable[[], Iterable[tuple[str, str, int]]]) -> None:
        self._depths = depths

    def describe(self):  # type: ignore[no-untyped-def]
        # Names only: registering must not ask the queue backend (Redis may be away at start).
        yield self._family()

    def collect(self):  # type: ignore[no-untyped-def]
        family = self._family()
        try:
            for queue, state, count in self._depths():
                family.add_metric([queue, state], count)
        except (RedisError, OSError):  # a scrape while Redis is away: no depths, not a failure
            pass
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "boka_job_queue_depth",
            "Jobs per queue and state (queued, scheduled, started, failed).",
            labels=["queue", "state"],
        )


_registered: QueueDepthCollector | None = None


def register_queue_depth(depths: Callable[[], Iterable[tuple[str, str, int]]]) -> None:
    """Expose queue depths on the process's registry (once per process; the last source wins)."""
    global _registered
    if _registered is None:
        _registered = QueueDepthCollector(depths)
        REGISTRY.register(_registered)
    else:
        _registered._depths = depths
