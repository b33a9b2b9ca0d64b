"""Every limit at its exact boundary, end to end: N pictures allowed, the next one refused.

Refusals happen before any provider call and end in one sentence naming the rule.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.e2e.admin_kit import (
    EXACT_PRICES,
    LOW_SQUARE_MICROS,
    PICTURE,
    FakeClock,
    admin_says,
    burst,
    draw,
    imagine_low,
    outcome,
)
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, OTHER_CHANNEL_ID, StartBot
from tests.e2e.picture_kit import ADMIN_PERMISSIONS, is_final, settled
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

FAST = {"PARTIAL_IMAGES": "0", "IMAGE_PRICES": EXACT_PRICES}
THREAD_IN_CHANNEL, THREAD_IN_OTHER = 5102, 5103
ARTISTS, MODS = 5201, 5202
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


async def test_user_daily_pictures(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "limits", user_daily_pictures=3)
    assert [await draw(discord_fake) for _ in range(3)] == [PICTURE] * 3
    refusal = await draw(discord_fake)
    assert refusal.startswith("You've reached your daily limit of 3 pictures — it resets in ")
    assert refusal.endswith(", at midnight UTC.")
    assert openai_fake.count("images") == 3
    assert await draw(discord_fake, user_id=BOB) == PICTURE


async def test_server_daily_pictures(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "limits", server_daily_pictures=2)
    assert await draw(discord_fake, user_id=ALICE) == PICTURE
    assert await draw(discord_fake, user_id=BOB) == PICTURE
    assert (await draw(discord_fake, user_id=7003)).startswith(
        "This server has reached its daily limit of 2 pictures — it resets in "
    )
    assert openai_fake.count("images") == 2


async def test_zero_pictures_means_none(start_bot: StartBot, discord_fake: FakeDiscord) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "limits", user_daily_pictures=0)
    assert await draw(discord_fake) == (
        "This server has set members' daily picture limit to 0 — ask a server admin."
    )


async def test_cooldown_to_the_second(start_bot: StartBot, discord_fake: FakeDiscord) -> None:
    clock = FakeClock(START)
    await start_bot(clock=clock, **FAST)
    await admin_says(discord_fake, "limits", cooldown_seconds=60)
    assert await draw(discord_fake) == PICTURE
    clock.advance(seconds=59)
    assert await draw(discord_fake) == "Slow down — you can make another picture in 1 s."
    assert await draw(discord_fake, user_id=BOB) == PICTURE  # a cooldown is per person
    clock.advance(seconds=1)
    assert await draw(discord_fake) == PICTURE


async def test_a_failed_picture_gives_everything_back(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot(**FAST)
    await admin_says(discord_fake, "limits", user_daily_pictures=1, cooldown_seconds=600)
    openai_fake.fail_next("images", status=504)  # not tried again: it may have been made
    assert (await draw(discord_fake)).startswith("The image service can't be reached")
    store, day = bot.studio.store, bot.studio.periods().day
    usage = await store.usage(GUILD_ID, ALICE, day)
    assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (0, 0, 0)
    entry = await store.ledger_entry(1)
    assert entry is not None and (entry.state, entry.cost_micros) == ("released", 0)
    assert await draw(discord_fake) == PICTURE  # neither the quota nor the cooldown was used
    settled_entry = await store.ledger_entry(2)
    assert settled_entry is not None
    assert (settled_entry.state, settled_entry.cost_micros) == ("settled", LOW_SQUARE_MICROS)
    assert settled_entry.picture_id is not None


@pytest.mark.parametrize(
    ("option", "usd", "sentence"),
    [
        ("server_daily_usd", 0.0816, "This server's daily image budget of $0.0816"),
        ("user_daily_usd", 0.0816, "Your daily spending limit of $0.0816"),
        ("server_monthly_usd", 0.0816, "This server's monthly image budget of $0.0816"),
    ],
)
async def test_a_budget_stops_drawing_once_the_spend_reaches_it(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    option: str,
    usd: float,
    sentence: str,
) -> None:
    bot = await start_bot(**FAST)
    await admin_says(discord_fake, "budget", **{option: usd})
    assert [await draw(discord_fake) for _ in range(3)] == [PICTURE] * 3  # 3 × $0.0272
    refusal = await draw(discord_fake)
    assert refusal.startswith(f"{sentence} has too little left for this picture — it resets ")
    assert openai_fake.count("images") == 3
    month = await bot.studio.store.usage(GUILD_ID, 0, bot.studio.periods().month)
    assert month.spent_micros == 3 * LOW_SQUARE_MICROS == round(usd * 1_000_000)


async def test_a_bigger_picture_is_refused_while_a_smaller_one_fits(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "budget", user_daily_usd=0.05)
    assert (await draw(discord_fake, quality="medium")).startswith(
        "Your daily spending limit of $0.05 has too little left"
    )
    assert await draw(discord_fake, quality="low") == PICTURE


async def test_day_rollover_at_midnight_in_the_configured_zone(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    clock = FakeClock(datetime(2026, 11, 26, 14, 59, tzinfo=UTC))  # 23:59 in Tokyo
    await start_bot(clock=clock, TIMEZONE="Asia/Tokyo", **FAST)
    await admin_says(discord_fake, "limits", user_daily_pictures=1)
    assert await draw(discord_fake) == PICTURE
    assert await draw(discord_fake) == (
        "You've reached your daily limit of 1 picture — it resets in 1 min, at midnight Asia/Tokyo."
    )
    clock.advance(seconds=59)
    assert await draw(discord_fake) != PICTURE  # 23:59:59 is still the same day
    clock.advance(seconds=1)
    assert await draw(discord_fake) == PICTURE  # midnight in Tokyo: a new day
    clock.advance(hours=9)  # midnight UTC is nothing special here
    assert (await draw(discord_fake)).startswith("You've reached your daily limit")


async def test_jobs_in_flight_per_person(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    painting = openai_fake.hold_images()  # nothing finishes until all three were asked
    await start_bot(**FAST)
    await admin_says(discord_fake, "limits", running_jobs=1, queued_jobs=1)
    interactions = [await imagine_low(discord_fake, f"boat {n}", wait=False) for n in range(3)]
    await discord_fake.wait_for(
        lambda: any(is_final(i.shown) for i in interactions), what="one of three answered"
    )
    painting.open()
    await asyncio.gather(*(settled(i) for i in interactions))
    outcomes = [outcome(i) for i in interactions]
    assert outcomes.count(PICTURE) == 2
    assert (
        "You already have 2 pictures on the way — wait for one to finish, then try again."
        in outcomes
    )
    assert any("In line" in (e.get("content") or "") for i in interactions for e in i.edits)
    assert await draw(discord_fake) == PICTURE  # free again once they finished


async def test_a_hundred_at_once_with_a_quota_of_five(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.image_latency = 0.05
    await start_bot(**FAST)
    await admin_says(discord_fake, "limits", user_daily_pictures=5, running_jobs=10, queued_jobs=20)
    outcomes = await burst(discord_fake, 100)
    assert outcomes.count(PICTURE) == 5
    assert openai_fake.count("images") == 5
    refusals = [o for o in outcomes if o != PICTURE]
    assert len(refusals) == 95
    quota = [r for r in refusals if r.startswith("You've reached your daily limit of 5 pictures")]
    busy = [r for r in refusals if r.startswith("You already have 30 pictures on the way")]
    assert quota, "the daily quota must be what refuses once five are admitted"
    assert len(quota) + len(busy) == 95, set(refusals)


async def test_channels_allow_list_and_threads_follow_their_channel(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.add_thread(GUILD_ID, THREAD_IN_CHANNEL, CHANNEL_ID)
    discord_fake.add_thread(GUILD_ID, THREAD_IN_OTHER, OTHER_CHANNEL_ID)
    await start_bot(**FAST)
    await admin_says(discord_fake, "channels", mode="allow", add=OTHER_CHANNEL_ID)
    refused = "Pictures can't be made in this channel — try one of the allowed ones."
    assert await draw(discord_fake, channel_id=CHANNEL_ID) == refused
    assert await draw(discord_fake, channel_id=THREAD_IN_CHANNEL) == refused
    assert await draw(discord_fake, channel_id=OTHER_CHANNEL_ID) == PICTURE
    assert await draw(discord_fake, channel_id=THREAD_IN_OTHER) == PICTURE
    assert await draw(discord_fake, channel_id=CHANNEL_ID, permissions=ADMIN_PERMISSIONS) == PICTURE


async def test_channels_deny_list_and_threads_follow_their_channel(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    discord_fake.add_thread(GUILD_ID, THREAD_IN_CHANNEL, CHANNEL_ID)
    await start_bot(**FAST)
    await admin_says(discord_fake, "channels", mode="deny", add=CHANNEL_ID)
    refused = "Pictures can't be made in this channel — try another one."
    assert await draw(discord_fake, channel_id=CHANNEL_ID) == refused
    assert await draw(discord_fake, channel_id=THREAD_IN_CHANNEL) == refused
    assert await draw(discord_fake, channel_id=OTHER_CHANNEL_ID) == PICTURE
    await admin_says(discord_fake, "channels", remove=CHANNEL_ID)
    assert await draw(discord_fake, channel_id=CHANNEL_ID) == PICTURE
    assert openai_fake.count("images") == 2


async def test_only_drawing_roles_may_draw(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    discord_fake.add_role(GUILD_ID, ARTISTS, "Artists", members=[BOB])
    await start_bot(**FAST)
    said = await admin_says(discord_fake, "roles", allow_add=ARTISTS)
    assert said.startswith(f"Now only members with <@&{ARTISTS}> (and server admins) can make")
    assert await draw(discord_fake, user_id=ALICE) == (
        "You need one of this server's drawing roles to make pictures."
    )
    assert await draw(discord_fake, user_id=BOB) == PICTURE
    await admin_says(discord_fake, "roles", allow_clear=True)
    assert await draw(discord_fake, user_id=ALICE) == PICTURE
    assert openai_fake.count("images") == 2


async def test_exempt_roles_skip_per_person_limits_but_not_the_servers(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.add_role(GUILD_ID, MODS, "Mods", members=[ALICE])
    await start_bot(**FAST)
    await admin_says(discord_fake, "limits", user_daily_pictures=1, server_daily_pictures=4)
    await admin_says(discord_fake, "roles", exempt_add=MODS)
    assert [await draw(discord_fake, user_id=ALICE) for _ in range(3)] == [PICTURE] * 3
    assert await draw(discord_fake, user_id=BOB) == PICTURE
    assert (await draw(discord_fake, user_id=ALICE)).startswith(
        "This server has reached its daily limit of 4 pictures"
    )


async def test_blocked_words_are_refused_before_any_provider_call(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "blocked-words", action="add", words="kraken, sea monster")
    blocked = "Your request contains a word this server has blocked — please rephrase it."
    assert await draw(discord_fake, "a KRAKEN attacks") == blocked
    assert await draw(discord_fake, "a sea\n  monster rises") == blocked
    assert openai_fake.requests == []
    assert await draw(discord_fake, "krakens are fine") == PICTURE  # whole words only


async def test_server_ceilings_lower_requests_and_say_so(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "defaults", max_size="square", styles="anime")
    interaction = await imagine_low(discord_fake, "a tower", size="portrait")
    body = next(r.json for r in openai_fake.requests if r.endpoint == "images")
    assert body is not None
    assert body["size"] == "1024x1024"
    assert interaction.original is not None
    assert "size limited to square" in interaction.original["embeds"][0]["footer"]["text"]
    assert (await draw(discord_fake, style="watercolor")).startswith(
        "That style isn't allowed here — choose one of: anime."
    )
    assert await draw(discord_fake, style="anime") == PICTURE
