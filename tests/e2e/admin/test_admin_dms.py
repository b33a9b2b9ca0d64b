"""/imagine-admin in direct messages: the bot's owner sets the bot-wide DM settings there."""

from __future__ import annotations

from typing import Any

from tests.e2e.admin_kit import PICTURE, admin, answer, draw
from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.fakes.discord_api import FakeDiscord

NOT_OWNER = "Only the bot's owner can change Picasso's settings for direct messages."


async def test_direct_messages_are_the_bot_owners_to_set(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(PARTIAL_IMAGES="0")
    dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(BOB).id}
    owner_dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(ALICE).id}
    assert answer(await admin(discord_fake, "channels", user_id=BOB, dms=False, **dm)) == NOT_OWNER
    in_server = await admin(discord_fake, "channels", dms=False)
    assert answer(in_server).startswith("Whether pictures can be made in DMs is bot-wide")
    assert answer(await admin(discord_fake, "roles", allow_clear=True, **owner_dm)).startswith(
        "That setting exists only in servers"
    )

    assert await draw(discord_fake, user_id=BOB, **dm) == PICTURE
    said = answer(await admin(discord_fake, "channels", dms=False, **owner_dm))
    assert said == "Pictures can no longer be made in direct messages with the bot."
    assert await draw(discord_fake, user_id=BOB, **dm) == (
        "Pictures can't be made in direct messages — use a server channel."
    )
    assert await draw(discord_fake, user_id=BOB) == PICTURE  # servers are not affected
    await admin(discord_fake, "channels", dms=True, **owner_dm)
    assert await draw(discord_fake, user_id=BOB, **dm) == PICTURE


async def test_owner_sets_limits_for_direct_messages(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(PARTIAL_IMAGES="0")
    dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(BOB).id}
    owner_dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(ALICE).id}
    await admin(discord_fake, "limits", user_daily_pictures=1, **owner_dm)
    assert await draw(discord_fake, user_id=BOB, **dm) == PICTURE
    assert (await draw(discord_fake, user_id=BOB, **dm)).startswith(
        "You've reached your daily limit of 1 picture"
    )
    assert await draw(discord_fake, user_id=BOB) == PICTURE  # the server has no limit
    show = await admin(discord_fake, "show", **owner_dm)
    assert show.original is not None
    assert show.original["embeds"][0]["title"] == "Picasso settings for direct messages"


async def test_in_a_dm_the_owner_lookup_waits_until_the_answer_is_under_way(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot()
    owner_dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(ALICE).id}
    before = len(discord_fake.requests)
    show = await admin(discord_fake, "show", **owner_dm)
    assert show.original is not None and show.ephemeral
    assert show.original["embeds"][0]["title"] == "Picasso settings for direct messages"
    calls = [f"{r.method} {r.path}" for r in discord_fake.requests[before:]]
    deferred = next(n for n, call in enumerate(calls) if call.endswith("/callback"))
    looked_up = next(n for n, call in enumerate(calls) if call.endswith("/applications/@me"))
    assert deferred < looked_up, calls  # Discord's 3 s never wait on a lookup
