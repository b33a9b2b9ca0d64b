"""Scale-out: the same bot as gateway processes and painting workers (`ROLE`).

- `all` (the default): one process connects to Discord and paints, with the in-process
  scheduler. Nothing here is used.
- `gateway`: connects to Discord (its shards: `SHARD_COUNT`, `SHARD_IDS`), answers every
  interaction and reply, admits jobs and puts their ids on the queue (`bot.jobs.queue`).
- `worker`: no gateway connection. It logs in over REST only, takes job ids from the queue
  and runs them through the line shared by every worker (`bot.jobs.line`), posting progress,
  pictures and sentences with the interaction's token or the bot's token.

Every process shares PostgreSQL (jobs, money, the line) and Redis (the queue, the provider's
rate limit, its pauses).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from redis.asyncio import Redis
from saq import Worker

from bot.config import Settings
from bot.jobs.line import SharedLine, SharedRateLimit
from bot.jobs.queue import JobQueue
from bot.studio import Studio

log = logging.getLogger(__name__)

GATEWAY: Final = "gateway"
IDENTIFY_SPACING_MS: Final = 5_500  # Discord's 5 s between IDENTIFYs, and a margin
WORKER: Final = "worker"


@dataclass
class Cluster:
    """What a gateway or worker process shares with the others: Redis and the queue."""

    redis: Redis
    queue: JobQueue
    worker: Worker | None = None  # a painting worker's saq worker, once it works

    @classmethod
    async def open(cls, settings: Settings) -> Cluster:
        """Connect to Redis (the queue and the shared limits)."""
        assert settings.redis_url is not None, "REDIS_URL is checked when settings load"
        queue = JobQueue(settings.redis_url, heartbeat=settings.queue_heartbeat)
        await queue.connect()
        return cls(Redis.from_url(settings.redis_url), queue)

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
        )

    async def identify_turn(self, shard_id: int, buckets: int) -> None:
        """Wait until this shard may IDENTIFY: Discord takes one per `IDENTIFY_SPACING` per
        bucket (`shard_id % max_concurrency`) from every process of the bot together, so the
        gateways take turns through a key in Redis that lasts that long."""
        key = f"picasso:identify:{shard_id % buckets}"
        while not await self.redis.set(key, shard_id, nx=True, px=IDENTIFY_SPACING_MS):
            left = await self.redis.pttl(key)
            await asyncio.sleep(max(int(left), 50) / 1000)

    async def reachable(self) -> bool:
        """Whether Redis answers (for /healthz)."""
        return await self.queue.reachable()

    async def close(self) -> None:
        """Stop taking job ids (a worker's jobs have been let finish or go back on the
        queue by then: `JobService.stop`), then close the connections."""
        if self.worker is not None:
            await self.worker.stop()
        await self.queue.close()
        await self.redis.aclose()


async def work(bot: Any, cluster: Cluster) -> None:
    """Run a painting worker until the bot closes (`Cluster.close`): take job ids from the
    queue and run them (`WORKER_SLOTS` at once, those waiting for a turn included)."""
    settings: Settings = bot.settings
    line = bot.jobs.runner.scheduler
    assert isinstance(line, SharedLine)
    await line.start()
    worker = cluster.queue.worker(
        bot.jobs.take, slots=settings.worker_slots, sweep=settings.queue_sweep
    )
    worker.SIGNALS = []  # the bot's own handler stops it, gracefully
    cluster.worker = worker
    log.info(
        "painting worker ready: %d slots, %d painting at once across all workers",
        settings.worker_slots,
        settings.image_concurrency,
    )
    await worker.start()  # returns once `Cluster.close` stopped it
