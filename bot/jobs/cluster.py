"""Scale-out: the same bot as gateway processes and painting workers (`ROLE`).

- `gateway`: connects to Discord (its shards: `SHARD_COUNT`, `SHARD_IDS`), answers every
  interaction and reply, admits jobs and puts their ids on the queue (`bot.jobs.queue`).
- `worker`: no gateway connection. It logs in over REST only, takes job ids from the queue
  and runs them through the line shared by every worker (`bot.jobs.shared_line`), posting
  progress, pictures and sentences with the interaction's token or the bot's token.

Every process shares PostgreSQL (jobs, money, the line) and Redis (the queue, the provider's
rate limit, its pauses), and every process sweeps: a live job that no live holder leases
and no queue entry carries is put back on the queue, or ended when it can no longer be
answered. So a lost Redis, a dead worker or a dropped delivery heals without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from redis.asyncio import Redis
from saq import Worker

from bot.config import Settings
from bot.errors import QueueDown
from bot.jobs.engine import Sweeper, stop_tasks
from bot.jobs.line import Line
from bot.jobs.queue import JobQueue
from bot.jobs.runner import START_MARGIN, Runner
from bot.jobs.shared_line import SharedLine, SharedRateLimit
from bot.ops.ports import Queue
from bot.storage.job_records import LIVE, JobRecord, JobState
from bot.storage.repository import Store
from bot.storage.turns import Hold
from bot.studio import Studio

log = logging.getLogger(__name__)

GATEWAY: Final = "gateway"
WORKER: Final = "worker"
IDENTIFY_SPACING_MS: Final = 5_500  # Discord's 5 s between IDENTIFYs, and a margin
IDENTIFY_PATIENCE: Final = 600.0  # seconds a gateway waits for its turn to IDENTIFY
# Redis: every command answers within SOCKET_TIMEOUT (the queue's blocking wait is shorter:
# `bot.jobs.queue.DEQUEUE_TIMEOUT`), a connection is made within CONNECT_TIMEOUT, and an
# idle one is checked every HEALTH_CHECK seconds before it is used.
SOCKET_TIMEOUT: Final = 5.0
CONNECT_TIMEOUT: Final = 3.0
HEALTH_CHECK: Final = 10
HOLD_TRIES: Final = 3  # looks at a job another live worker holds before leaving it be


def redis_client(url: str) -> Redis:
    """A Redis client whose every command and connection has a timeout."""
    return Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=HEALTH_CHECK,
    )


class Cluster:
    """What a gateway or worker process shares with the others: Redis and the queue."""

    def __init__(self, redis: Redis, queue: JobQueue) -> None:
        self.redis = redis
        self.queue = queue

    @classmethod
    async def open(cls, settings: Settings) -> Cluster:
        """Connect to Redis (the queue and the shared limits)."""
        assert settings.redis_url is not None, "REDIS_URL is checked when settings load"
        queue = JobQueue(redis_client(settings.redis_url), heartbeat=settings.queue_heartbeat)
        await queue.connect()
        return cls(redis_client(settings.redis_url), queue)

    def line(self, settings: Settings, studio: Studio) -> SharedLine:
        """The line shared by every worker (the provider's rate limit counted in Redis)."""
        spec = settings.image_rate_limit
        assert settings.redis_url is not None
        rate = SharedRateLimit(spec, settings.redis_url) if spec else None
        process = f"{os.uname().nodename[:16]}-{os.getpid()}-{secrets.token_hex(3)}"
        return SharedLine(
            studio.store,
            self.redis,
            process=process,
            concurrency=settings.image_concurrency,
            # A worker that stops beating loses its jobs after two missed heartbeats.
            lease=timedelta(seconds=2 * settings.queue_heartbeat),
            rate=rate,
            now=studio.now,
            start_margin=START_MARGIN,
        )

    async def identify_turn(self, shard_id: int, buckets: int) -> None:
        """Wait until this shard may IDENTIFY: Discord takes one per `IDENTIFY_SPACING` per
        bucket (`shard_id % max_concurrency`) from every process of the bot together, so the
        gateways take turns through a key in Redis that lasts that long (each try bounded:
        a key lives at most that long)."""
        key = f"picasso:identify:{shard_id % buckets}"
        async with asyncio.timeout(IDENTIFY_PATIENCE):  # many gateways at once: still bounded
            while not await self.redis.set(key, shard_id, nx=True, px=IDENTIFY_SPACING_MS):
                left = await self.redis.pttl(key)
                await asyncio.sleep(min(max(int(left), 50), IDENTIFY_SPACING_MS) / 1000)

    async def close(self) -> None:
        """Close the connections."""
        await self.queue.close()
        await self.redis.aclose()


class ClusterEngine:
    """Jobs across processes: a gateway hands them to the queue, a worker takes deliveries
    and runs them through the shared line; both sweep."""

    def __init__(
        self,
        runner: Runner,
        store: Store,
        line: SharedLine,
        cluster: Cluster,
        *,
        sweep_every: float,
        now: Callable[[], datetime],
    ) -> None:
        self.runner = runner
        self._store = store
        self._line = line
        self._cluster = cluster
        self._now = now
        self._sweeper = Sweeper(self.sweep, sweep_every)
        self._worker: Worker | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # deliveries running here
        self._taken: set[int] = set()  # jobs a delivery runs in this process
        self._passed_on: set[int] = set()  # jobs a stopping worker leaves to the others
        self._stopping = False

    @property
    def line(self) -> Line:
        """The line every worker shares."""
        return self._line

    @property
    def queue(self) -> Queue:
        """The queue of job ids."""
        return self._cluster.queue

    async def start(self) -> None:
        """Hear the line move, put back what nobody carries, then sweep every round."""
        await self._line.start()
        await self.sweep()
        self._sweeper.start()

    async def launch(self, job: JobRecord) -> None:
        """Put the job on the queue for a painting worker; if the queue can't take it, end
        it with its sentence (its money released)."""
        try:
            await self._cluster.queue.put(job.id)
        except Exception as error:
            log.exception("job %d could not be put on the queue", job.id)
            await self.runner.end(job, JobState.FAILED, QueueDown(detail=str(error)))

    async def sweep(self) -> int:
        """Put back on the queue every live job that no live holder leases and no live
        delivery carries (Redis emptied, a delivery dropped, a worker dead or frozen), after
        ending those whose interaction can no longer be answered. Idempotent: the queue's
        key per job makes a job put back twice carried once, and every move checks the
        job's holder."""
        put = 0
        for job in await self._store.unheld_jobs(self._now()):
            if job.id in self._taken or await self._cluster.queue.live(job.id):
                # A delivery runs it here, or a worker that beats has it (its lease may
                # have lapsed while the database was away: it renews once it answers).
                continue
            revived = await self.runner.revive(job)
            if revived is not None and await self._cluster.queue.ensure(job.id):
                put += 1
        if put:
            log.info("put %d unfinished jobs nobody ran back on the queue", put)
            await self._line.changed()
        return put

    async def work(self, settings: Settings) -> None:
        """Run a painting worker until the bot closes: take job ids from the queue and run
        them (`WORKER_SLOTS` at once, those waiting for a turn included)."""
        worker = self._cluster.queue.worker(
            self.deliver,
            slots=settings.worker_slots,
            sweep=settings.queue_sweep,
            grace=settings.shutdown_grace,
            after=self._after,
        )
        worker.SIGNALS = []  # the bot's own handler stops it, gracefully
        self._worker = worker
        log.info(
            "painting worker ready: %d slots, %d painting at once across all workers",
            settings.worker_slots,
            settings.image_concurrency,
        )
        await worker.start()  # returns once `stop` stopped it

    async def deliver(self, job_id: int) -> None:
        """Run a job a delivery brought: hold it (or, while another live worker holds it,
        look again a few times until that one ends it or dies), take over a job whose
        worker died, run it through the shared line, and let it go. A failure (a database
        away) goes to saq, which delivers the id again with backoff."""
        if job_id in self._taken:
            return  # another delivery of it runs here already
        if self._stopping:
            self._passed_on.add(job_id)  # leave it to another worker
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._taken.add(job_id)
        try:
            await self._deliver(job_id)
        except Exception:
            log.exception("job %d: its delivery failed; the queue will hand it out again", job_id)
            raise
        finally:
            self._taken.discard(job_id)
            if task is not None:
                self._tasks.discard(task)
            if self._stopping:  # stopping, or cancelled after the grace period
                self._passed_on.add(job_id)

    async def _deliver(self, job_id: int) -> None:
        store, line = self._store, self._line
        holder = line.holder(job_id)
        for _ in range(HOLD_TRIES):
            holding = await store.hold(job_id, holder, self._now(), line.lease)
            if holding.hold is Hold.ENDED:
                return
            if holding.hold is Hold.HELD:
                break
            assert holding.lease_until is not None
            left = (holding.lease_until - self._now()).total_seconds()
            await asyncio.sleep(min(max(left, 0.2), line.lease.total_seconds()))
        else:
            return  # a live worker runs it: the sweep puts it back if that one dies
        line.keep(job_id)
        try:
            job = await store.job(job_id)
            if job is not None and holding.took_over:
                log.warning("job %d: its worker stopped answering; taking it over", job_id)
            if job is not None and job.state is not JobState.QUEUED:
                job = await self.runner.revive(job)  # cut short where it ran
            if job is not None:
                await self.runner.run(job)
        finally:
            line.let_go(job_id)
            await asyncio.shield(self._release(job_id, holder))

    async def _release(self, job_id: int, holder: str) -> None:
        try:
            await self._store.release_hold(job_id, holder)
        except Exception:  # its lease runs out instead
            log.warning("job %d: could not let it go", job_id, exc_info=True)
        await self._line.changed()

    async def _after(self, job_id: int) -> None:
        """A delivery is finished: a job a stopping worker left unfinished goes back on the
        queue at once (its key is free again) for the other workers."""
        if job_id not in self._passed_on:
            return
        self._passed_on.discard(job_id)
        left_behind = await self._store.job(job_id)
        if left_behind is not None and left_behind.state in LIVE:
            await self._cluster.queue.put(job_id)

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - a deadline, not an error
        """Wait until every delivery this process runs has ended."""
        tasks = set(self._tasks)
        if not tasks:
            return True
        _, late = await asyncio.wait(tasks, timeout=timeout)
        return not late

    async def stop(self, grace: float) -> None:
        """Take no new work: waiting jobs leave this process's line (they stay queued and go
        back on the queue for another worker), painting ones finish within `grace`; then
        stop taking deliveries and close the connections."""
        self._stopping = True
        if self._worker is not None:
            self._worker.event.set()  # saq takes no new delivery (the ones running go on)
        await self._sweeper.stop()
        self._line.close()
        await stop_tasks(set(self._tasks), grace)
        if self._worker is not None:
            await self._worker.stop()
        await self._cluster.close()
