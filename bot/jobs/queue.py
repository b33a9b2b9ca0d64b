"""Jobs travelling between processes: the gateway puts a job's id on a saq queue in Redis; a
painting worker takes it and runs the job (`bot.jobs.cluster.ClusterEngine`).

The job row stays the truth about state and money; the queue only carries ids, each under a
key derived from its job (`job:<id>`), so a job put on the queue twice is carried once, and
whether the queue carries a job is one lookup. saq gives each delivery a heartbeat: a worker
that dies mid-job stops beating, saq's sweep notices and hands the id out again; a delivery
that fails (a database away) is tried again with backoff. Whatever the queue loses (Redis
emptied, retries used up), the engine's own sweep puts back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from redis.asyncio import Redis
from saq import Status, Worker
from saq.queue.redis import RedisQueue
from saq.types import PartialTimersDict

log = logging.getLogger(__name__)

NAME: Final = "picasso-jobs"
FUNCTION: Final = "paint"
RETRIES: Final = 8  # deliveries of one id, when a worker dies or a delivery fails
RETRY_DELAY: Final = 1.0  # seconds before the first retry of a failed delivery, doubling…
RETRY_DELAY_MAX: Final = 30.0  # …up to this
# A blocking wait for the next id lasts this long, well below the Redis socket timeout.
DEQUEUE_TIMEOUT: Final = 1.0
CARRIED: Final = frozenset({Status.NEW, Status.QUEUED, Status.ACTIVE, Status.ABORTING})


def key_of(job_id: int) -> str:
    """The queue's key for a job: one delivery of it at a time."""
    return f"job:{job_id}"


class JobQueue:
    """The saq queue of job ids (`heartbeat`: seconds a delivery may go without a beat)."""

    def __init__(self, redis: Redis, *, heartbeat: int = 15, name: str = NAME) -> None:
        self.queue = RedisQueue(redis, name=name)
        self.heartbeat = heartbeat

    async def connect(self) -> None:
        """Open the connection to Redis."""
        await self.queue.connect()

    async def close(self) -> None:
        """Close the connection."""
        await self.queue.disconnect()

    async def put(self, job_id: int) -> None:
        """Put a job's id on the queue for a worker to run (nothing if it is carried
        already)."""
        await self.queue.enqueue(
            FUNCTION,
            key=key_of(job_id),
            job_id=job_id,
            timeout=0,
            heartbeat=self.heartbeat,
            retries=RETRIES,
            retry_delay=RETRY_DELAY,
            retry_backoff=RETRY_DELAY_MAX,
        )
        log.debug("job %d is on the queue", job_id)

    async def live(self, job_id: int) -> bool:
        """Whether a live delivery carries the job: waiting for a worker, or delivered to
        one that still beats (so that worker is alive, whatever the database can tell)."""
        delivery = await self.queue.job(key_of(job_id))
        return delivery is not None and delivery.status in CARRIED and not delivery.stuck

    async def ensure(self, job_id: int) -> bool:
        """Make sure a live delivery carries the job: put it on the queue if nothing does,
        or hand it out again if the worker delivering it stopped beating (saq's own sweep
        does that only once a minute). True if it did either."""
        delivery = await self.queue.job(key_of(job_id))
        if delivery is not None and delivery.status in CARRIED:
            if not delivery.stuck:
                return False  # waiting for a worker, or with a live one
            await self.queue.retry(delivery, error="its worker stopped beating")
            log.info("job %d: its delivery's worker stopped beating; handed out again", job_id)
            return True
        await self.put(job_id)
        return True

    async def depth(self) -> int:
        """How many ids wait for a worker."""
        return int(await self.queue.count("queued"))

    async def reachable(self) -> bool:
        """Whether Redis answers."""
        try:
            return bool(await self.queue.redis.ping())  # type: ignore[misc]
        except Exception:  # any failure means "not reachable"
            return False

    def worker(
        self,
        take: Callable[[int], Awaitable[None]],
        *,
        slots: int,
        sweep: int,
        grace: float,
        after: Callable[[int], Awaitable[None]],
    ) -> Worker:
        """A saq worker running `take(job_id)` for up to `slots` deliveries at once (jobs
        waiting for their turn hold a slot too), sweeping for dead deliveries every
        `sweep` seconds; `after(job_id)` runs once each delivery is finished (its key is
        free again). Once stopped it takes no new delivery, and lets the ones running end
        for up to `grace` seconds."""

        async def paint(ctx: dict[str, Any], *, job_id: int) -> None:
            delivery = ctx["job"]
            beating = asyncio.create_task(_beat(delivery, self.heartbeat / 3))
            try:
                await take(job_id)
            finally:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating

        async def finished(ctx: dict[str, Any]) -> None:
            await after(ctx["job"].kwargs["job_id"])

        paint.__qualname__ = FUNCTION
        return Worker(
            self.queue,
            functions=[(FUNCTION, paint)],
            concurrency=slots,
            after_process=finished,
            dequeue_timeout=DEQUEUE_TIMEOUT,
            shutdown_grace_period_s=max(1, round(grace)),
            timers=PartialTimersDict(sweep=sweep, abort=1, schedule=1, worker_info=10),
        )


async def _beat(delivery: Any, every: float) -> None:
    """Tell saq the delivery is alive while its job runs (until cancelled with it)."""
    while True:
        await asyncio.sleep(every)
        try:
            await delivery.update()
        except Exception:  # a missed beat is retried at the next one
            log.warning("could not send job %s's heartbeat", delivery.key, exc_info=True)
