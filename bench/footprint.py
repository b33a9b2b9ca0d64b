"""What the bot costs to run: CPU per picture and resident memory, read from /proc for the bot
running as its own process (`python -m bot run`), so the fakes' share is not in them."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.figures import Result, Target
from bench.options import Options
from bench.process import BotProcess
from bench.profiles import top_costs
from bench.stage import Setup, burst, fakes, people, wait_pictures

READY_LINE = "logged in as"


async def run_cpu(options: Options) -> Result:
    """CPU the bot uses per picture for a burst, with an instant provider."""
    total = options.cpu_warmup + options.cpu_requests
    setup = Setup(people=total, concurrency=options.concurrency, image_latency=0.0)
    async with fakes(setup) as (discord_fake, openai_fake):
        everyone = people(total)
        with tempfile.TemporaryDirectory() as folder:
            env = setup.bot_env(discord_fake, openai_fake, Path(folder))
            async with BotProcess(Path(folder), env, profile=options.profile) as bot:
                await bot.wait_for_line(READY_LINE)
                warmup = await burst(discord_fake, everyone[: options.cpu_warmup])
                await wait_pictures(warmup, 60)
                bot_before = await bot.settled_cpu()
                bench_before, started = time.process_time(), time.monotonic()
                if options.profile:
                    bot.profile_on()
                interactions = await burst(discord_fake, everyone[options.cpu_warmup :])
                await wait_pictures(interactions, 60 + options.cpu_requests)
                wall = time.monotonic() - started
                bot_after = await bot.settled_cpu()
                bench_cpu = time.process_time() - bench_before
                if options.profile:
                    bot.profile_off()
                    await asyncio.sleep(1.0)  # let it write the stats
    pictures = len(interactions)
    bot_cpu = bot_after - bot_before
    result = Result(
        "cpu",
        f"bot CPU per picture: {options.cpu_requests} × /imagine at once, instant provider, "
        f"{options.concurrency} painting, bot in its own process",
        {
            "requests": options.cpu_requests,
            "warmup": options.cpu_warmup,
            "concurrency": options.concurrency,
            "image_latency_s": 0.0,
            "image_px": 256,
            "log_level": "INFO",
        },
    )
    result.figures = {
        "pictures": pictures,
        "bot_cpu_ms": round(bot_cpu * 1000, 1),
        "bot_cpu_ms_per_picture": round(bot_cpu * 1000 / pictures, 2),
        "fakes_cpu_ms_per_picture": round(bench_cpu * 1000 / pictures, 2),
        "wall_s": round(wall, 2),
    }
    result.targets = [Target("bot_cpu_ms_per_picture", 15)]
    result.notes = [
        "bot CPU: utime + stime of the `python -m bot run` process (all its threads) from "
        "/proc/<pid>/stat, from before the burst until it had used no CPU for 0.3 s after "
        f"the last picture; {options.cpu_warmup} pictures were made first so first-use costs "
        "are not counted. fakes CPU: this process (both fakes and the bench driver) over the "
        "same stretch, for comparison.",
    ]
    if options.profile:
        result.notes.append("profiled: cProfile slows the bot, so its CPU figures are inflated")
        if options.profile.exists():
            result.series["top_costs"] = top_costs(options.profile, pictures)
    return result


async def run_rss(options: Options) -> Result:
    """The bot's resident memory idle after start, and after `rss_jobs` jobs."""
    setup = Setup(people=options.rss_jobs, concurrency=options.concurrency, image_latency=0.0)
    samples: list[list[float]] = []
    async with fakes(setup) as (discord_fake, openai_fake):
        everyone = people(options.rss_jobs)
        with tempfile.TemporaryDirectory() as folder:
            env = setup.bot_env(discord_fake, openai_fake, Path(folder))
            async with BotProcess(Path(folder), env) as bot:  # the first start migrates
                await bot.wait_for_line(READY_LINE)
                await asyncio.sleep(1.0)
                first_start = bot.memory_mb()
            async with BotProcess(Path(folder), env) as bot:  # every later start
                await bot.wait_for_line(READY_LINE)
                await asyncio.sleep(1.0)
                idle = bot.memory_mb()
                samples.append([0, idle["rss_mb"]])
                for start in range(0, options.rss_jobs, options.rss_batch):
                    batch = everyone[start : start + options.rss_batch]
                    await wait_pictures(await burst(discord_fake, batch), 60 + len(batch))
                    await bot.settled_cpu()
                    samples.append([start + len(batch), bot.memory_mb()["rss_mb"]])
                after = bot.memory_mb()
    result = Result(
        "rss",
        f"bot resident memory: idle, then after {options.rss_jobs} jobs "
        f"({options.rss_batch} at a time, instant provider), bot in its own process",
        {
            "jobs": options.rss_jobs,
            "batch": options.rss_batch,
            "concurrency": options.concurrency,
            "image_px": 256,
        },
    )
    first_batch = samples[1][1] if len(samples) > 1 else idle["rss_mb"]
    jobs_after_first = options.rss_jobs - min(options.rss_batch, options.rss_jobs)
    result.figures = {
        "idle_rss_mb": idle["rss_mb"],
        "first_start_idle_rss_mb": first_start["rss_mb"],
        "after_jobs_rss_mb": after["rss_mb"],
        "peak_rss_mb": after["peak_rss_mb"],
        "growth_mb_per_100_jobs_after_first_batch": round(
            (after["rss_mb"] - first_batch) * 100 / max(jobs_after_first, 1), 2
        ),
    }
    result.targets = [Target("idle_rss_mb", 100)]
    result.series = {"rss_mb_by_jobs": samples}
    result.notes = [
        "RSS: VmRSS (now) and VmHWM (peak) of the `python -m bot run` process from "
        "/proc/<pid>/status, in MB (10^6 bytes); idle = connected, ready, 1 s later, nothing "
        "done, on a database already migrated (the first start, which migrates a new "
        "database and so loads Alembic, is shown apart).",
    ]
    return result
