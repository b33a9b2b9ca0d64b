"""The line of pictures waiting to be painted: cancel, fair turns, the provider's limit, and
progress that stays within Discord's rate limits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import time_machine

from bot.jobs.service import NOT_YOURS
from bot.storage.job_records import JobState
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, StartBot, jobs_ended
from tests.e2e.picture_kit import button_ids, dump, imagine, is_picture, is_private, use_settings
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI

STEP = 0.01  # seconds the test's clock moves at each of its turns of the event loop


def cancel_id(interaction: FakeInteraction) -> str:
    """The ❌ Cancel button under a request that waits in line."""
    assert interaction.original is not None
    (custom_id,) = [c for c in button_ids(interaction.original) if c.startswith("picasso:cancel:")]
    return custom_id


async def press_cancel(
    discord_fake: FakeDiscord, waiting: FakeInteraction, user_id: int
) -> FakeInteraction:
    assert waiting.original is not None
    return await discord_fake.click(
        int(waiting.original["id"]),
        cancel_id(waiting),
        user_id=user_id,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )


def in_line(interaction: FakeInteraction) -> bool:
    return (interaction.original or {}).get("content", "").startswith("⏳ In line")


def painted(openai_fake: FakeOpenAI) -> list[str]:
    """The prompts of the image requests, in the order the provider received them."""
    return [
        str((r.json or r.form or {}).get("prompt"))
        for r in openai_fake.requests
        if r.endpoint == "images"
    ]


async def test_the_requester_cancels_a_waiting_picture_and_nobody_else_can(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    painting = openai_fake.hold_images()  # the first paints until the test is done with the line
    bot = await start_bot(IMAGE_CONCURRENCY="1")
    first = await imagine(discord_fake, "the first in line", wait=False)
    await discord_fake.wait_for(lambda: painting.waiting == 1, what="the first to be painting")
    waiting = await imagine(discord_fake, "the second in line", wait=False)
    await waiting.wait_done(in_line)
    assert waiting.original is not None and "position 1" in waiting.original["content"]

    refused = await press_cancel(discord_fake, waiting, BOB)
    await refused.wait_done(lambda i: bool(i.followups))
    assert [m["content"] for m in refused.followups] == [NOT_YOURS]
    assert is_private(refused.followups[0])
    assert in_line(waiting)  # still waiting

    cancelled = await press_cancel(discord_fake, waiting, ALICE)
    await cancelled.wait_done()
    await waiting.wait_done(lambda i: bool(i.followups))
    assert waiting.original is None  # the public "in line" message is gone
    assert [m["content"] for m in waiting.followups] == [
        "❌ Cancelled — nothing was painted or charged."
    ]
    assert is_private(waiting.followups[0])
    painting.open()
    await first.wait_done(lambda i: is_picture(i.original))
    await jobs_ended()
    assert openai_fake.count("images") == 1  # the cancelled one was never painted
    jobs = [await bot.studio.store.job(n) for n in (1, 2)]
    assert [j.state for j in jobs if j] == [JobState.DONE, JobState.CANCELLED]
    usage = await bot.studio.store.usage(GUILD_ID, ALICE, bot.studio.periods().day)
    assert (usage.pictures, usage.reserved_micros) == (1, 0)  # only the first counts


async def test_a_flood_from_one_person_lets_the_next_person_in_first(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    painting = openai_fake.hold_images()  # the first picture paints until bob is in line
    bot = await start_bot(IMAGE_CONCURRENCY="1")
    await use_settings(bot, user_running=1, user_queued=11)
    flood = [await imagine(discord_fake, f"alice's picture {n}", wait=False) for n in range(6)]
    await discord_fake.wait_for(lambda: painting.waiting == 1, what="the first to be painting")
    for waiting in flood[1:]:  # all of alice's others are in line before bob asks
        await waiting.wait_done(in_line)
    bobs = await imagine(discord_fake, "bob's only picture", user_id=BOB, wait=False)
    await bobs.wait_done(in_line)
    painting.open()
    for interaction in [*flood, bobs]:
        await interaction.wait_done(lambda i: is_picture(i.original), timeout=30)
    order = painted(openai_fake)
    assert len(order) == 7
    assert "bob's only picture" in order[1], order  # right after the one already painting


async def test_pictures_are_paced_to_the_providers_limit_without_a_429(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """The bot's limit (it counts with `time.time()`) and the provider's window count on one
    clock the test moves: 10 ms a step, each step a turn of the event loop. It runs about as
    fast as real time, but a stalled machine stalls it too, so a call arrives at the time
    the bot's pacing sent it at, give or take a few steps: never a whole margin late."""
    openai_fake.image_rate_limit = (3, 2.0)
    openai_fake.clock = time.time
    with time_machine.travel(time.time(), tick=False) as traveller:

        async def tick() -> None:
            while True:
                await asyncio.sleep(STEP)
                traveller.shift(STEP)

        ticking = asyncio.create_task(tick())
        try:
            bot = await start_bot(IMAGE_RATE_LIMIT="3 per 2 seconds", IMAGE_CONCURRENCY="4")
            await use_settings(bot, user_running=4, user_queued=4)
            asked = [
                await imagine(discord_fake, f"picture {n}", user_id=(ALICE, BOB)[n % 2], wait=False)
                for n in range(8)
            ]
            for interaction in asked:
                await interaction.wait_done(lambda i: is_picture(i.original), timeout=30)
        finally:
            ticking.cancel()
    assert openai_fake.rate_limited == []  # the provider never had to say no
    assert openai_fake.count("images") == 8


async def test_fifty_at_once_stay_within_discords_rate_limits_and_few_calls(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """A 50-request burst with 4 painting slots: at most 8 Discord calls per picture on
    average (progress coalesced, positions only when they read differently), no 429."""
    people = list(range(80_000, 80_050))
    for person in people:
        discord_fake.add_user(person, f"person{person}")
    discord_fake.add_guild(8_001, channel_ids=[8_002], members=people)
    openai_fake.image_latency = 0.5
    await start_bot(IMAGE_CONCURRENCY="4", PARTIAL_IMAGES="0")
    before = len(discord_fake.requests)
    asked: list[Any] = await asyncio.gather(
        *(
            discord_fake.invoke(
                "imagine",
                {"description": f"picture {n}"},
                user_id=person,
                guild_id=8_001,
                channel_id=8_002,
            )
            for n, person in enumerate(people)
        )
    )
    for interaction in asked:
        await interaction.wait_done(lambda i: is_picture(i.original), timeout=60)
    await jobs_ended()
    calls = len(discord_fake.requests) - before
    assert discord_fake.rate_limited == []
    assert calls / len(asked) <= 8, dump(discord_fake.request_counts())
