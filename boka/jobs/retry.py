"""How a failed job is tried again: a number of retries with exponential backoff."""

from __future__ import annotations

from dataclasses import dataclass

from rq import Retry


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` further attempts after the first; ``intervals[i]`` seconds before retry
    i+1 (the last interval repeats). ``RetryPolicy.none()`` fails on the first error."""

    max_retries: int
    intervals: tuple[int, ...] = ()

    @classmethod
    def exponential(
        cls, max_retries: int = 5, *, base: int = 10, factor: int = 2, cap: int = 3600
    ) -> RetryPolicy:
        """base, base*factor, base*factor², … seconds, each at most ``cap``."""
        return cls(
            max_retries=max_retries,
            intervals=tuple(min(base * factor**attempt, cap) for attempt in range(max_retries)),
        )

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(max_retries=0)

    def interval_before(self, retry_number: int) -> int:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        if not self.intervals:
            return 0
        return self.intervals[min(retry_number, len(self.intervals)) - 1]

    def as_rq(self) -> Retry | None:
        if self.max_retries < 1:
            return None
        # RQ picks intervals[max - retries_left]: retry 1 gets intervals[0], and so on.
        intervals = [self.interval_before(n) for n in range(1, self.max_retries + 1)]
        return Retry(max=self.max_retries, interval=intervals)


DEFAULT_RETRY = RetryPolicy.exponential()
