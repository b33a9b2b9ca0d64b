"""The operator's guard, end to end: the limits a new server starts with, and the caps on
the whole bot's spend that no server's admin can lift."""

from __future__ import annotations

from tests.e2e.admin_kit import EXACT_PRICES, LOW_SQUARE_MICROS, PICTURE, admin_says, draw
from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

FAST = {"PARTIAL_IMAGES": "0", "IMAGE_PRICES": EXACT_PRICES}
USED_UP = "The bot's image budget for today is used up — please try again tomorrow."


async def test_a_new_server_gets_ten_pictures_a_person_until_its_admins_say_otherwise(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(DEFAULT_SERVER_LIMITS="", **FAST)  # unset: the built-in default
    assert [await draw(discord_fake) for _ in range(10)] == [PICTURE] * 10
    refusal = await draw(discord_fake)
    assert refusal.startswith("You've reached your daily limit of 10 pictures")
    shown = await admin_says(discord_fake, "limits", remove="user daily pictures")
    assert "no per-person daily picture limit" in shown
    assert "50 pictures a day for the whole server" in shown  # the rest of the default stays
    assert await draw(discord_fake) == PICTURE
    assert openai_fake.count("images") == 11


async def test_the_operator_sets_what_new_servers_get(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(DEFAULT_SERVER_LIMITS='{"guild_daily_pictures": 1}', **FAST)
    assert await draw(discord_fake, user_id=ALICE) == PICTURE
    assert (await draw(discord_fake, user_id=BOB)).startswith(
        "This server has reached its daily limit of 1 picture"
    )


async def test_the_bots_budget_stops_everyone_and_no_admin_can_lift_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    two_pictures = f"{2 * LOW_SQUARE_MICROS / 1_000_000:.4f}"
    await start_bot(BOT_DAILY_BUDGET_USD=two_pictures, **FAST)
    assert await draw(discord_fake, user_id=ALICE) == PICTURE
    assert await draw(discord_fake, user_id=BOB) == PICTURE
    assert await draw(discord_fake, user_id=ALICE) == USED_UP
    await admin_says(discord_fake, "budget", remove="all")  # a server's caps are not the bot's
    assert await draw(discord_fake, user_id=BOB) == USED_UP
    assert openai_fake.count("images") == 2


async def test_a_bot_whose_operator_set_no_budget_stops_at_ten_dollars_a_day(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """BOT_DAILY_BUDGET_USD unset: $10 a day. At $3.40 a picture (272 output tokens at
    $12,500 a million), two pass and the third, which would make $10.20, is refused."""
    prices = '{"gpt-image-2": {"text_in": 0, "image_in": 0, "image_out": 12500}}'
    await start_bot(BOT_DAILY_BUDGET_USD="", IMAGE_PRICES=prices, PARTIAL_IMAGES="0")
    outcomes = [await draw(discord_fake, user_id=who) for who in (ALICE, BOB, ALICE)]
    assert outcomes == [PICTURE, PICTURE, USED_UP]
    assert openai_fake.count("images") == 2
