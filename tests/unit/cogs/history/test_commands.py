"""cogs/history/commands.py: who may see the chain behind a picture they name."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import discord
import pytest

from cogs.history.commands import _may_see
from tests.storage.records import picture_record

GUILD, ALICE, BOB = 5001, 7001, 7002


def asking(user_id: int, guild_id: int | None, readable: bool | None) -> Any:
    """An interaction by `user_id` in `guild_id`, where the picture's channel is readable to
    them (`readable`), or unknown to the bot (None)."""
    interaction = MagicMock(spec=discord.Interaction)
    interaction.guild_id = guild_id
    interaction.user = MagicMock(spec=discord.Member, id=user_id)
    if guild_id is None:
        interaction.guild = None
        return interaction
    channel = None
    if readable is not None:
        channel = MagicMock()
        channel.permissions_for.return_value = discord.Permissions(read_message_history=readable)
    interaction.guild = MagicMock(spec=discord.Guild)
    interaction.guild.get_channel_or_thread.return_value = channel
    return interaction


@pytest.mark.parametrize(
    ("who", "guild", "readable", "seen"),
    [
        (ALICE, GUILD, False, True),  # your own, wherever it was posted
        (BOB, GUILD, True, True),  # someone else's, in a channel you can read
        (BOB, GUILD, False, False),  # … in a channel you can't
        (BOB, GUILD, None, False),  # … in a channel the bot no longer knows
        (BOB, 9999, True, False),  # another server's
        (BOB, None, None, False),  # asked in a DM
    ],
)
def test_who_may_see_a_picture(
    who: int, guild: int | None, readable: bool | None, seen: bool
) -> None:
    picture = picture_record(guild_id=GUILD, requester_id=ALICE)
    assert _may_see(picture, asking(who, guild, readable)) is seen


def test_in_direct_messages_only_your_own() -> None:
    mine = picture_record(guild_id=None, requester_id=ALICE)
    assert _may_see(mine, asking(ALICE, None, None))
    assert not _may_see(mine, asking(BOB, None, None))
