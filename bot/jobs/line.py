"""The line: where jobs wait for a painting turn, as the `Runner` sees it.

One protocol, two backends, chosen once when the bot is wired (`bot.jobs.engine`):
the in-process line (`bot.jobs.local_line.LocalLine`, one process) and the line shared by
painting workers (`bot.jobs.shared_line.SharedLine`, PostgreSQL and Redis). Both decide
with the same rules (`bot.jobs.rules.rank`), and one conformance suite runs them both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Ticket:
    """Who asks for a turn, and the limits that apply to this one job."""

    job_id: int
    guild_id: int | None  # None = direct messages (one place)
    user_id: int
    running_cap: int | None = None  # at most this many of this person's jobs here at once
    start_by: float | None = None  # the line's clock: after this the job must not start


@dataclass(frozen=True, slots=True)
class Place:
    """Where a waiting job stands: 1 = next to start."""

    position: int
    eta_seconds: float | None  # None until a turn has been measured (or across processes)


WaitCallback = Callable[[Place], Awaitable[None]]


class Line(Protocol):
    """Where jobs wait for their turn to paint, and the provider's pace."""

    def turn(
        self, ticket: Ticket, on_wait: WaitCallback | None = None, *, resume: bool = False
    ) -> AbstractAsyncContextManager[None]:
        """Wait for the job's turn, then hold it for the block. `resume`: the job had its
        turn and lost it to a provider pause; it goes first. Raises `WaitedTooLong` once
        `ticket.start_by` passes, `JobCancelled` when cancelled, `ShuttingDown` after
        `close()`, `JobEnded` when the job ended elsewhere."""
        ...

    async def pace(self, pictures: int = 1, *, until: float | None = None) -> None:
        """Wait for room in the provider's limit for a call of `pictures` pictures, and
        count them; raises `WaitedTooLong` when there is none before `until`."""
        ...

    def pause(self, seconds: float) -> None:
        """The provider asked to slow down: no call for `seconds`."""
        ...

    def paused_for(self) -> float:
        """Seconds left of the provider's pause (0: none), as far as this process knows."""
        ...

    def holds(self, job_id: int) -> bool:
        """Whether this process may still show the job: False once another process may have
        taken it over (its hold lapsed or was lost), so nothing stale is shown over its
        picture."""
        ...

    async def cancel(self, job_id: int) -> bool:
        """Take a job waiting in this process out of the line (its `turn` raises
        `JobCancelled`); False when it does not wait here."""
        ...

    async def announce(self) -> None:
        """Something changed outside the line (a job ended): look at it again now."""
        ...

    async def places(self, job_ids: Collection[int]) -> dict[int, Place]:
        """Where each of these jobs stands in the whole line (waiting ones only)."""
        ...

    async def depth(self) -> int:
        """How many jobs wait for a turn in the whole line."""
        ...

    def close(self) -> None:
        """Take no new turns (waiters raise `ShuttingDown`); held turns go on."""
        ...
