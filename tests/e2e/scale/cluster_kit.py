"""A gateway and painting workers as real `python -m bot` processes, on PostgreSQL and
Redis, and what scale-out tests read of them."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from tests.e2e.faults.kit import query
from tests.e2e.process import BotProcess

PEOPLE = (7101, 7102, 7103, 7104)
READY = "painting worker ready"
# The provider's limit, enforced by the fake OpenAI on the calls' arrival: 6 images a second.
# The workers are told 6 per 2 s (and share it a second longer: 6 per 3 s), so that a call
# one worker process sends late on a loaded machine is 2 s late before it could count in
# the wrong window. Not sharing the limit (6 per 3 s each) still goes over it at once.
PROVIDER_LIMIT = (6, 1.0)
BOT_LIMIT = "6 per 2 seconds"
# A worker renews its holds every third of a lease (2 heartbeats): 8 s, renewed every 2.7 s,
# leaves a loaded machine 5 s to renew them before another worker may take a job over.
HEARTBEAT = 4
LEASE = 2 * HEARTBEAT


class Cluster:
    """A gateway and workers, started and stopped together."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.stack = AsyncExitStack()
        self.workers: list[BotProcess] = []
        self.gateway_env: dict[str, str] = {}  # settings of the gateway alone
        self.worker_env: dict[str, str] = {}  # settings of each worker alone

    async def start(self, workers: int = 2) -> None:
        self.gateway = await self.stack.enter_async_context(
            BotProcess(self.cwd, **self.env, **self.gateway_env, ROLE="gateway")
        )
        await self.gateway.wait_for_line("logged in as")  # the schema is migrated by now
        for _ in range(workers):
            await self.add_worker(wait=False)
        for worker in self.workers:
            await worker.wait_for_line(READY)

    async def add_worker(self, *, wait: bool = True) -> BotProcess:
        """One more painting worker (ready, with `wait`)."""
        worker = await self.stack.enter_async_context(
            BotProcess(self.cwd, **self.env, **self.worker_env, ROLE="worker")
        )
        self.workers.append(worker)
        if wait:
            await worker.wait_for_line(READY)
        return worker

    def output(self) -> str:
        return "".join(p.output for p in (self.gateway, *self.workers))


async def all_done(database: str, jobs: int, within: float = 20) -> None:
    """Until at least `jobs` jobs are done in the database (a picture is shown before it is
    recorded and paid for: the workers are other processes)."""
    async with asyncio.timeout(within):
        while True:
            done = await query(database, "SELECT count(*) FROM jobs WHERE state = 'done'")
            if done[0]["count"] >= jobs:
                return
            await asyncio.sleep(0.1)


async def worker_holding(running: Cluster, database: str, job_id: int) -> BotProcess:
    """The worker process that holds job `job_id` (its holder names its process id)."""
    [row] = await query(database, f"SELECT holder FROM jobs WHERE id = {job_id}")
    pid = int(row["holder"].split(":")[0].rsplit("-", 2)[1])
    [holding] = [w for w in running.workers if w.process and w.process.pid == pid]
    return holding


def pid_of(process: BotProcess) -> int:
    assert process.process is not None
    return process.process.pid


def signal_to(process: BotProcess, signum: signal.Signals) -> None:
    assert process.process is not None
    process.process.send_signal(signum)


def states(rows: list[Any]) -> dict[str, int]:
    return {row["state"]: row["count"] for row in rows}
