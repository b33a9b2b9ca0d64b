"""How fast does /imagine acknowledge, and how long until the picture is posted, under a burst?

Starts the fake Discord and fake OpenAI on loopback and the real bot in this process, fires
N /imagine interactions at once, and prints latency percentiles for
  * ack: INTERACTION_CREATE sent on the gateway → the bot's deferral reached Discord, and
  * done: INTERACTION_CREATE → the finished picture replaced the loading message.
Discord allows 3 s for the ack. Run by hand from the repository root:

    python -m bench.defer_latency --requests 50 --image-latency 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import discord

from bot.app import Picasso
from bot.config import load_settings
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

GUILD, CHANNEL = 9001, 9002
FIRST_USER = 100_000  # one person per request: per-person limits are not what is measured


def percentiles(values: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


async def bench(requests: int, image_latency: float, concurrency: int) -> None:
    """Run one burst and print the figures."""
    original_base = discord.http.Route.BASE
    async with (
        FakeDiscord(validate_spec=False) as fake_discord,
        FakeOpenAI(image_size_px=256) as fake_openai,
    ):
        people = [FIRST_USER + n for n in range(requests)]
        for person in people:
            fake_discord.add_user(person, f"person{person}")
        fake_discord.add_guild(GUILD, channel_ids=[CHANNEL], members=people)
        fake_openai.image_latency = image_latency
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(
                {
                    "DISCORD_TOKEN": "bench-token-0123456789",
                    "OPENAI_API_KEY": fake_openai.api_key,
                    "OPENAI_BASE_URL": fake_openai.base_url,
                    "DISCORD_API_BASE_URL": fake_discord.api_base,
                    "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
                    "IMAGE_CONCURRENCY": str(concurrency),
                    "PARTIAL_IMAGES": "0",
                }
            )
            bot = Picasso(settings, guild_ready_timeout=0.05)
            runner = asyncio.create_task(bot.start("bench-token-0123456789"))
            await asyncio.sleep(0)  # let start() set the client up before waiting on it
            await bot.wait_until_ready()
            started = time.monotonic()
            interactions = await asyncio.gather(
                *[
                    fake_discord.invoke(
                        "imagine",
                        {"description": f"bench picture {n}"},
                        user_id=person,
                        guild_id=GUILD,
                        channel_id=CHANNEL,
                    )
                    for n, person in enumerate(people)
                ]
            )
            await asyncio.gather(
                *(
                    i.wait_done(
                        lambda i: bool(i.original and i.original.get("embeds")), timeout=600
                    )
                    for i in interactions
                )
            )
            wall = time.monotonic() - started
            await bot.close()
            runner.cancel()
    discord.http.Route.BASE = original_base
    acks = [i.callbacks[0]["at"] - i.created_at for i in interactions]
    done = [i.edits[-1]["_at"] - i.created_at for i in interactions]
    print(
        f"{requests} × /imagine at once, image latency {image_latency}s, "
        f"{concurrency} painting at once"
    )
    print(f"  ack   {percentiles(acks)}")
    print(f"  done  {percentiles(done)}")
    print(f"  all pictures posted after {wall:.2f} s")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--image-latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(bench(args.requests, args.image_latency, args.concurrency))


if __name__ == "__main__":
    main()
