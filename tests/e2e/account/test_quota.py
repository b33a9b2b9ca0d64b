"""/quota end to end: what a person has left, as everyone sees it."""

from __future__ import annotations

from tests.e2e.admin_kit import (
    EXACT_PRICES,
    PICTURE,
    admin_says,
    draw,
)
from tests.e2e.conftest import (
    BOB,
    CHANNEL_ID,
    GUILD_ID,
    StartBot,
)
from tests.fakes.discord_api import FakeDiscord


async def test_quota_shows_what_is_left_to_everyone(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(IMAGE_PRICES=EXACT_PRICES, PARTIAL_IMAGES="0")
    await admin_says(
        discord_fake,
        "limits",
        user_daily_pictures=3,
        server_daily_pictures=10,
        cooldown_seconds=600,
    )
    await admin_says(discord_fake, "budget", user_daily_usd=0.1)
    assert await draw(discord_fake, user_id=BOB) == PICTURE
    interaction = await discord_fake.invoke(
        "quota", {}, user_id=BOB, guild_id=GUILD_ID, channel_id=CHANNEL_ID
    )
    await interaction.wait_done()
    assert interaction.ephemeral
    assert interaction.original is not None
    lines = interaction.original["embeds"][0]["description"].split("\n")
    assert lines[0] == "Your pictures today: 2 of 3 left"
    assert lines[1] == "Server pictures today: 9 of 10 left"
    assert lines[2] == "Your money today: $0.0728 of $0.10 left"
    assert lines[3].startswith("Cooldown: wait 6")  # about 600 s
    assert lines[4] == "Your pictures on the way: 0 (at most 5)"
    assert lines[-1].startswith("Daily counts reset in ")
