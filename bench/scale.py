"""Scale-out: throughput of one gateway with 1, then 2, painting workers (each its own
`python -m bot` process) on PostgreSQL and Redis, against a provider with a fixed latency
and no rate limit. The CPU each process used says where the next bottleneck is."""

from __future__ import annotations

import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from bench.figures import Result
from bench.options import Options
from bench.process import BotProcess
from bench.stage import Setup, burst, fakes, people, picture_at, wait_pictures
from tests.services import postgres_database, redis_database

WORKER_READY = "painting worker ready"


def _machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


async def _round(options: Options, workers: int) -> dict[str, float]:
    """One burst through a gateway and `workers` workers: pictures a second and CPU."""
    requests = options.scale_requests
    setup = Setup(
        people=requests, concurrency=options.scale_concurrency, image_latency=options.image_latency
    )
    async with (
        fakes(setup) as (discord_fake, openai_fake),
        postgres_database() as database,
        redis_database() as redis,
    ):
        with tempfile.TemporaryDirectory() as folder:
            env = setup.bot_env(discord_fake, openai_fake, Path(folder)) | {
                "DATABASE_URL": database,
                "REDIS_URL": redis,
                "WORKER_SLOTS": str(options.scale_concurrency * 2),
            }
            async with AsyncExitStack() as stack:
                gateway = await stack.enter_async_context(
                    BotProcess(Path(folder), env | {"ROLE": "gateway"})
                )
                await gateway.wait_for_line("logged in as")
                painters = [
                    await stack.enter_async_context(
                        BotProcess(Path(folder), env | {"ROLE": "worker"})
                    )
                    for _ in range(workers)
                ]
                for painter in painters:
                    await painter.wait_for_line(WORKER_READY)
                cpu_before = [p.cpu_seconds() for p in (gateway, *painters)]
                machine_before = _machine_busy()
                started = time.monotonic()
                interactions = await burst(discord_fake, people(requests))
                await wait_pictures(interactions, 120 + requests)
                last = max(t for t in map(picture_at, interactions) if t is not None)
                machine_after = _machine_busy()
                processes = (gateway, *painters)
                cpu = [p.cpu_seconds() - b for p, b in zip(processes, cpu_before, strict=True)]
    elapsed = last - started
    return {
        "pictures_per_s": round(requests / elapsed, 2),
        "seconds": round(elapsed, 2),
        "gateway_cpu_ms_per_picture": round(1000 * cpu[0] / requests, 1),
        "workers_cpu_ms_per_picture": round(1000 * sum(cpu[1:]) / requests, 1),
        "provider_429s": len(openai_fake.rate_limited),
        "machine_busy_percent": round(
            100 * (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
        ),
    }


async def run_scale(options: Options) -> Result:
    """The same burst through 1 and 2 workers."""
    result = Result(
        "scale",
        f"scale-out: {options.scale_requests} × /imagine at once through one gateway and 1 or 2 "
        f"workers, provider {options.image_latency:g} s per picture and no limit, "
        f"{options.scale_concurrency} painting at once across the workers",
        {
            "requests": options.scale_requests,
            "image_latency_s": options.image_latency,
            "concurrency": options.scale_concurrency,
        },
    )
    for workers in (1, 2):
        figures = await _round(options, workers)
        result.figures |= {f"{name}_{workers}w": value for name, value in figures.items()}
    ideal = options.scale_concurrency / max(options.image_latency, 0.001)
    result.figures["ideal_pictures_per_s"] = round(ideal, 1)
    result.notes.append(
        "pictures_per_s: requests / (last picture shown − burst sent); ideal: slots / latency; "
        "machine_busy_percent: every core of the machine (bots, fakes, PostgreSQL, Redis)"
    )
    return result
