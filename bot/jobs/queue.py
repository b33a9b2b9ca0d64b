"""Jobs travelling between processes: the gateway puts a job's id on a saq queue in Redis; a
painting worker takes it and runs the job (`JobService.take`).

The job row stays the truth about state and money; the queue only carries ids. saq gives
each delivery a heartbeat: a worker that dies mid-job stops beating, saq's sweep notices and
hands the id to another worker, which takes the job over once its holder's lease in the
database has run out (`bot.storage.turns`). A delivered id whose job already ended, or that
another live worker holds, costs nothing, so an id may safely be put on the queue twice
(a gateway re-puts every unfinished job when it starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from saq import Queue, Worker
from saq.types import PartialTimersDict

log = logging.getLogger(__name__)

NAME: Final = "picasso-jobs"
FUNCTION: Final = "paint"
RETRIES: Final = 5  # how many times saq hands out an id whose worker died


class JobQueue:
    """The saq queue of job ids (`heartbeat`: seconds a delivery may go without a beat)."""

    def __init__(self, redis_url: str, *, heartbeat: int = 15, name: str = NAME) -> None:
        self.queue = Queue.from_url(redis_url, name=name)
        self.heartbeat = heartbeat

    async def connect(self) -> None:
        """Open the connection to Redis."""
        await self.queue.connect()

    async def close(self) -> None:
        """Close the connection."""
        await self.queue.disconnect()

    async def put(self, job_id: int) -> None:
        """Put a job's id on the queue for a worker to run."""
        await self.queue.enqueue(
            FUNCTION, job_id=job_id, timeout=0, heartbeat=self.heartbeat, retries=RETRIES
        )
        log.debug("job %d is on the queue", job_id)

    async def depth(self) -> int:
        """How many ids wait for a worker."""
        return int(await self.queue.count("queued"))

    async def reachable(self) -> bool:
        """Whether Redis answers."""
        try:
            return bool(await self.queue.redis.ping())  # type: ignore[attr-defined]
        except Exception:  # any failure means "not reachable"
            return False

    def worker(self, take: Callable[[int], Awaitable[None]], *, slots: int, sweep: int) -> Worker:
        """A saq worker running `take(job_id)` for up to `slots` deliveries at once (jobs
        waiting for their turn hold a slot too), sweeping for dead deliveries every
        `sweep` seconds."""

        async def paint(ctx: dict[str, Any], *, job_id: int) -> None:
            delivery = ctx["job"]
            beating = asyncio.create_task(_beat(delivery, self.heartbeat / 3))
            try:
                await take(job_id)
            finally:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating

        paint.__qualname__ = FUNCTION
        return Worker(
            self.queue,
            functions=[(FUNCTION, paint)],
            concurrency=slots,
            timers=PartialTimersDict(sweep=sweep, abort=1, schedule=1, worker_info=10),
        )


async def _beat(delivery: Any, every: float) -> None:
    """Tell saq the delivery is alive while its job runs."""
    while True:
        await asyncio.sleep(every)
        try:
            await delivery.update()
        except Exception:  # a missed beat is retried at the next one
            log.warning("could not send job %s's heartbeat", delivery.key, exc_info=True)
