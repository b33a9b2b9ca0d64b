"""Onboarding end to end: the one welcome when the bot joins a server (through the fake
gateway's GUILD_CREATE), and /help with the asker's limits."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.app import Picasso
from cogs.account.render import FORGET_KEEPS, WELCOME
from tests.e2e.admin_kit import admin_says
from tests.e2e.conftest import ALICE, CHANNEL_ID, GUILD_ID, StartBot
from tests.e2e.picture_kit import is_private
from tests.fakes.discord_api import FakeDiscord

NEW_GUILD, GREETINGS, CHAT, MUTED = 7700, 7701, 7702, 7703
JOIN_LISTENER = "discord.py: on_guild_join"  # how discord.py names a listener's task


async def joined(bot: Picasso, guild_id: int) -> None:
    """Until the bot has the guild and has handled the join: discord.py starts the join's
    listeners as it adds the guild (each a task of its own), so once none of them is left
    running nothing can still send a welcome."""
    async with asyncio.timeout(10):
        while bot.get_guild(guild_id) is None or any(
            task.get_name() == JOIN_LISTENER for task in asyncio.all_tasks()
        ):
            await asyncio.sleep(0.02)


async def first_posts(discord_fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    """The messages in `channel_id`, once there is one."""
    async with asyncio.timeout(10):
        while not discord_fake.channel_messages(channel_id):
            await asyncio.sleep(0.02)
    return discord_fake.channel_messages(channel_id)


async def test_joining_a_server_posts_one_welcome_in_its_system_channel(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot()
    discord_fake.add_guild(NEW_GUILD, channel_ids=[GREETINGS, CHAT], system_channel_id=GREETINGS)
    await first_posts(discord_fake, GREETINGS)
    await joined(bot, NEW_GUILD)
    welcome = discord_fake.channel_messages(GREETINGS)  # all of it: the join was handled
    assert [message["content"] for message in welcome] == [WELCOME]
    assert welcome[0]["author"]["id"] == str(discord_fake.bot_user_id)
    assert discord_fake.channel_messages(CHAT) == []
    assert "/imagine" in WELCOME and "/imagine-admin" in WELCOME and "Reply" in WELCOME


async def test_no_welcome_where_the_bot_may_not_post_or_there_is_no_system_channel(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot()
    discord_fake.forbid_bot(MUTED)
    discord_fake.add_guild(NEW_GUILD, channel_ids=[MUTED], system_channel_id=MUTED)
    discord_fake.add_guild(NEW_GUILD + 1, channel_ids=[CHAT])
    await joined(bot, NEW_GUILD)
    await joined(bot, NEW_GUILD + 1)
    assert discord_fake.channel_messages(MUTED) == []
    assert discord_fake.channel_messages(CHAT) == []
    refused = [r for r in discord_fake.requests if r.status == 403]
    assert refused == []  # it did not even try: its permissions said no


async def test_help_tells_what_the_bot_does_and_the_askers_limits(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot()
    await admin_says(discord_fake, "limits", user_daily_pictures=3)
    interaction = await discord_fake.invoke(
        "help", {}, user_id=ALICE, guild_id=GUILD_ID, channel_id=CHANNEL_ID
    )
    await interaction.wait_done(lambda i: bool(i.original and i.original.get("embeds")))
    assert interaction.original is not None and is_private(interaction.original)
    embed = interaction.original["embeds"][0]
    assert embed["description"] == WELCOME
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Your limits here"].startswith("Your pictures today: 3 of 3 left")
    assert "/forget-me" in fields["Your data"] and "audit channel" in fields["Your data"]
    assert fields["What /forget-me keeps"] == FORGET_KEEPS
    assert "I don't delete posted pictures" in FORGET_KEEPS and "🗑️ Delete" in FORGET_KEEPS
