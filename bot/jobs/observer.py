"""What the runner tells whoever watches it (the metrics), as a protocol small enough that
`bot.jobs` needs no metrics library."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol

from bot.storage.job_records import JobRecord


class JobObserver(Protocol):
    """Hears of each job that ended in a posted picture."""

    def posted(self, job: JobRecord, cost_micros: int, at: datetime) -> None:
        """`job`'s pictures were posted at `at` and charged `cost_micros`; never raises."""
        ...


class Unobserved:
    """The observer when nobody watches (no HEALTH_PORT, tests)."""

    def posted(self, job: JobRecord, cost_micros: int, at: datetime) -> None:
        """Nothing to record."""


UNOBSERVED: Final = Unobserved()
