"""/imagine-admin usage end to end: a private chart of the last 30 days, for admins only."""

from __future__ import annotations

from typing import Any

from tests.e2e.admin_kit import (
    EXACT_PRICES,
    LOW_SQUARE_MICROS,
    NOT_ADMIN,
    PICTURE,
    admin,
    admin_says,
    answer,
    draw,
)
from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.e2e.picture_kit import image_of, is_private
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_rules import DEFAULT_MEMBER_PERMISSIONS

FAST = {"PARTIAL_IMAGES": "0", "IMAGE_PRICES": EXACT_PRICES}
TWO_PICTURES = "$0.0544"
assert 2 * LOW_SQUARE_MICROS == 54_400


async def test_usage_answers_privately_with_the_chart_of_the_last_30_days(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "budget", server_daily_usd=2)
    assert await draw(discord_fake, user_id=ALICE) == PICTURE
    assert await draw(discord_fake, user_id=BOB) == PICTURE

    interaction = await admin(discord_fake, "usage")

    shown = interaction.original
    assert shown is not None and is_private(shown)
    assert shown["content"] == (
        f"The last 30 days in Test Guild: 2 pictures, {TWO_PICTURES} spent; today "
        f"{TWO_PICTURES} of the $2.00 daily budget."
    )
    assert [a["filename"] for a in shown["attachments"]] == ["picasso-usage.png"]
    chart = image_of(shown)
    assert (chart.format, chart.size) == ("PNG", (1200, 600))
    assert shown["_pinged"] == set()


async def test_non_admins_get_no_chart(start_bot: StartBot, discord_fake: FakeDiscord) -> None:
    await start_bot(**FAST)
    assert await draw(discord_fake) == PICTURE

    interaction = await admin(
        discord_fake,
        "usage",
        user_id=BOB,
        permissions=DEFAULT_MEMBER_PERMISSIONS,
        override=True,  # a server's permission override let bob run it
    )

    assert answer(interaction) == NOT_ADMIN
    assert interaction.ephemeral
    assert not (interaction.original or {}).get("attachments")


async def test_in_a_dm_the_owner_sees_the_direct_messages(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(**FAST)
    dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(BOB).id}
    owner_dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(ALICE).id}
    assert await draw(discord_fake, user_id=BOB, **dm) == PICTURE
    assert await draw(discord_fake, user_id=BOB) == PICTURE  # in the server: not in the DMs

    shown = (await admin(discord_fake, "usage", **owner_dm)).original

    assert shown is not None and is_private(shown)
    assert shown["content"].startswith("The last 30 days in direct messages: 1 picture, $0.0272")
    assert image_of(shown).size == (1200, 600)
    refused = await admin(discord_fake, "usage", user_id=BOB, **dm)
    assert (
        answer(refused) == "Only the bot's owner can change Picasso's settings for direct messages."
    )
