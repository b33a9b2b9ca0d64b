"""/imagine-admin end to end: who may use it, what it changes, what it says."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import select

from bot.models import GuildSettings, Quality, Size
from bot.storage.tables import Picture
from tests.e2e.admin_kit import (
    EXACT_PRICES,
    NOT_ADMIN,
    PICTURE,
    admin,
    admin_says,
    answer,
    draw,
)
from tests.e2e.conftest import (
    ALICE,
    BOB,
    CHANNEL_ID,
    GUILD_ID,
    OTHER_CHANNEL_ID,
    StartBot,
    stop_bot,
)
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_interactions import ADMINISTRATOR
from tests.fakes.discord_rules import DEFAULT_MEMBER_PERMISSIONS
from tests.fakes.openai_api import FakeOpenAI

SUBCOMMANDS: dict[str, dict[str, Any]] = {
    "show": {},
    "usage": {},
    "limits": {"user_daily_pictures": 1},
    "budget": {"server_daily_usd": 1.0},
    "channels": {"mode": "deny", "add": CHANNEL_ID},
    "roles": {"allow_clear": True},
    "defaults": {"max_size": "square"},
    "style-guide": {"text": "grim"},
    "blocked-words": {"action": "add", "words": "cat"},
    "audit-channel": {"channel": OTHER_CHANNEL_ID},
    "reset-user": {"user": ALICE},
}


OTHER_GUILD, OTHER_GUILD_CHANNEL = 6001, 6002


async def test_the_group_is_discoverable_and_hidden_from_members(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot()
    group = next(c for c in discord_fake.commands_global if c["name"] == "imagine-admin")
    assert int(group["default_member_permissions"]) == 32  # Manage Server
    subcommands = {option["name"]: option for option in group["options"]}
    assert set(subcommands) == set(SUBCOMMANDS)
    for sub in subcommands.values():
        assert sub["description"]
        for option in sub.get("options", []):
            assert option["description"], (sub["name"], option["name"])
            if option["type"] in (4, 10):  # numbers carry their range
                assert "min_value" in option and "max_value" in option, option
    quota = next(c for c in discord_fake.commands_global if c["name"] == "quota")
    assert quota.get("default_member_permissions") is None
    with pytest.raises(PermissionError):  # Discord itself would not let bob run it
        await admin(discord_fake, "show", user_id=BOB, permissions=DEFAULT_MEMBER_PERMISSIONS)


async def test_non_admins_are_refused_every_subcommand_even_when_discord_lets_them(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    assert await draw(discord_fake) == PICTURE
    for subcommand, options in SUBCOMMANDS.items():
        interaction = await admin(
            discord_fake,
            subcommand,
            user_id=BOB,
            permissions=DEFAULT_MEMBER_PERMISSIONS,
            override=True,  # a server's permission override let bob run it
            **options,
        )
        assert answer(interaction) == NOT_ADMIN, subcommand
        assert interaction.ephemeral
        assert interaction.callbacks[0]["type"] == 4
    store = bot.studio.store
    assert await store.guild_settings(GUILD_ID) == GuildSettings()
    assert (await store.usage(GUILD_ID, ALICE, bot.studio.periods().day)).pictures == 1


async def test_administrator_counts_as_server_admin(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot()
    interaction = await admin(
        discord_fake,
        "limits",
        permissions=DEFAULT_MEMBER_PERMISSIONS | ADMINISTRATOR,
        cooldown_seconds=5,
    )
    assert "a 5 s cooldown" in answer(interaction)


async def test_every_change_says_what_is_in_force_and_is_stored(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot()
    says = {
        "limits": await admin_says(
            discord_fake,
            "limits",
            user_daily_pictures=5,
            server_daily_pictures=50,
            cooldown_seconds=30,
            running_jobs=1,
            queued_jobs=0,
        ),
        "budget": await admin_says(
            discord_fake, "budget", server_daily_usd=2.5, server_monthly_usd=40, user_daily_usd=0.25
        ),
        "channels": await admin_says(discord_fake, "channels", mode="allow", add=OTHER_CHANNEL_ID),
        "defaults": await admin_says(
            discord_fake,
            "defaults",
            size="landscape",
            quality="medium",
            max_size="square",
            max_quality="medium",
            styles="anime, Pixel Art",
            model="gpt-image-1.5",
            expand=False,
            refine_mode="edit",
            remix="requester",
            moderation=False,
            preview=True,
        ),
        "style-guide": await admin_says(
            discord_fake, "style-guide", text="muted   colours, @everyone"
        ),
        "blocked-words": await admin_says(
            discord_fake, "blocked-words", action="add", words="kraken, sea monster"
        ),
        "audit-channel": await admin_says(discord_fake, "audit-channel", channel=OTHER_CHANNEL_ID),
    }
    assert says["limits"] == (
        "Now in force: 5 pictures per person a day, 50 pictures a day for the whole server, "
        "a 30 s cooldown between a person's pictures and at most 1 running and 0 waiting "
        "pictures per person."
    )
    assert says["budget"] == (
        "Now in force: $2.50 a day for the server, $40.00 a month for the server and $0.25 per "
        "person a day (a picture starts only if its estimated cost still fits)."
    )
    assert says["channels"] == (
        f"Pictures can now be made only in <#{OTHER_CHANNEL_ID}> (and their threads); "
        "server admins can draw anywhere."
    )
    assert "only the styles anime, pixel art (or none)" in says["defaults"]
    assert "the model gpt-image-1.5" in says["defaults"]
    assert "only the requester (and admins) may reroll" in says["defaults"]
    assert "prompt previews on by default" in says["defaults"]
    assert says["style-guide"] == "The style guide is now: “muted colours, @everyone”."
    assert (
        says["blocked-words"] == "2 words or phrases are blocked now (see them with action: list)."
    )
    assert says["audit-channel"] == f"Each new picture is now logged in <#{OTHER_CHANNEL_ID}>."
    for interaction in discord_fake.interactions.values():
        assert interaction.original is None or interaction.original["_pinged"] == set()

    saved = await bot.studio.store.guild_settings(GUILD_ID)
    assert (saved.user_daily_pictures, saved.guild_daily_pictures, saved.cooldown_seconds) == (
        5,
        50,
        30,
    )
    assert (saved.user_running, saved.user_queued) == (1, 0)
    assert (saved.guild_daily_usd, saved.guild_monthly_usd, saved.user_daily_usd) == (
        2.5,
        40,
        0.25,
    )
    assert (saved.channel_mode, saved.channel_ids) == ("allow", (OTHER_CHANNEL_ID,))
    assert saved.allowed_styles == ("anime", "pixel art")
    assert (saved.default_size, saved.default_quality, saved.max_size, saved.max_quality) == (
        Size.LANDSCAPE,
        Quality.MEDIUM,
        "square",
        Quality.MEDIUM,
    )
    assert (saved.model, saved.expand_default, saved.refine_mode, saved.remix) == (
        "gpt-image-1.5",
        False,
        "edit",
        "requester",
    )
    assert saved.moderation is False
    assert saved.blocked_words == ("kraken", "sea monster")
    assert saved.audit_channel_id == OTHER_CHANNEL_ID

    says_removed = await admin_says(discord_fake, "limits", remove="all")
    assert says_removed.startswith(
        "Now in force: no per-person daily picture limit, no server-wide daily picture limit, "
        "no cooldown"
    )
    assert "no daily server budget" in await admin_says(
        discord_fake, "budget", remove="server daily"
    )
    assert "the bot's model (gpt-image-2)" in await admin_says(
        discord_fake, "defaults", model="default"
    )
    assert (
        await admin_says(discord_fake, "style-guide", clear=True) == "There is no style guide now."
    )
    listed = await admin_says(discord_fake, "blocked-words", action="list")
    assert listed == "Blocked here: kraken, sea monster."
    await admin_says(discord_fake, "blocked-words", action="remove", words="KRAKEN")
    assert (await bot.studio.store.guild_settings(GUILD_ID)).blocked_words == ("sea monster",)


@pytest.mark.parametrize(
    ("subcommand", "options", "sentence"),
    [
        ("defaults", {"styles": "watercolour"}, "There is no style called “watercolour”"),
        ("defaults", {"model": "dall-e-3"}, "This bot has no price for a model called “dall-e-3”"),
        ("limits", {"user_daily_pictures": 3, "remove": "all"}, "You set and removed"),
        ("blocked-words", {"action": "add"}, "Give the words to add, separated by commas."),
        ("style-guide", {}, "Write the style guide, or choose clear to remove it."),
    ],
)
async def test_a_bad_change_gets_one_sentence_and_changes_nothing(
    start_bot: StartBot, discord_fake: FakeDiscord, subcommand: str, options: dict, sentence: str
) -> None:
    bot = await start_bot()
    interaction = await admin(discord_fake, subcommand, **options)
    assert answer(interaction).startswith(sentence), answer(interaction)
    assert interaction.ephemeral
    assert await bot.studio.store.guild_settings(GUILD_ID) == GuildSettings()


async def test_show_has_every_setting_and_the_usage(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot(IMAGE_PRICES=EXACT_PRICES, PARTIAL_IMAGES="0")
    await admin_says(discord_fake, "budget", server_monthly_usd=10)
    assert await draw(discord_fake) == PICTURE
    interaction = await admin(discord_fake, "show")
    assert interaction.original is not None
    embed = interaction.original["embeds"][0]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert set(fields) == {
        "Usage",
        "Limits",
        "Budget",
        "Channels",
        "Roles",
        "Audit channel",
        "Defaults",
        "Style guide",
        "Blocked words",
    }
    assert fields["Usage"].startswith(
        "Today: 1 picture, $0.0272 spent\nThis month: 1 picture, $0.0272 spent"
    )
    assert "$10.00 a month for the server" in fields["Budget"]


async def test_settings_and_usage_survive_a_restart(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    first = await start_bot(PARTIAL_IMAGES="0")
    await admin_says(discord_fake, "limits", user_daily_pictures=2)
    await admin_says(discord_fake, "blocked-words", action="add", words="kraken")
    assert await draw(discord_fake) == PICTURE
    await stop_bot(first)  # waits for jobs in flight to settle

    await start_bot(PARTIAL_IMAGES="0")
    assert (
        "2 pictures per person a day"
        in cast(dict[str, Any], (await admin(discord_fake, "show")).original)["embeds"][0][
            "fields"
        ][1]["value"]
    )
    assert await draw(discord_fake, "a kraken") == (
        "Your request contains a word this server has blocked — please rephrase it."
    )
    assert await draw(discord_fake) == PICTURE
    assert (await draw(discord_fake)).startswith("You've reached your daily limit of 2 pictures")
    assert openai_fake.count("images") == 2


async def test_two_servers_never_share_settings_or_usage(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.add_guild(OTHER_GUILD, channel_ids=[OTHER_GUILD_CHANNEL], members=[ALICE, BOB])
    bot = await start_bot(PARTIAL_IMAGES="0")
    await admin_says(discord_fake, "limits", user_daily_pictures=1)
    await admin_says(discord_fake, "channels", mode="deny", add=OTHER_CHANNEL_ID)
    assert await draw(discord_fake) == PICTURE
    assert (await draw(discord_fake)).startswith("You've reached your daily limit of 1 picture")
    elsewhere: dict[str, Any] = {"guild_id": OTHER_GUILD, "channel_id": OTHER_GUILD_CHANNEL}
    assert await draw(discord_fake, **elsewhere) == PICTURE
    assert await draw(discord_fake, **elsewhere) == PICTURE
    assert await bot.studio.store.guild_settings(OTHER_GUILD) == GuildSettings()
    show = await admin(discord_fake, "show", **elsewhere)
    assert show.original is not None
    fields = {f["name"]: f["value"] for f in show.original["embeds"][0]["fields"]}
    assert fields["Usage"].startswith("Today: 2 pictures")
    assert "no per-person daily picture limit" in fields["Limits"]


async def test_reset_user_gives_back_today(start_bot: StartBot, discord_fake: FakeDiscord) -> None:
    await start_bot(PARTIAL_IMAGES="0")
    await admin_says(discord_fake, "limits", user_daily_pictures=1)
    assert await draw(discord_fake, user_id=BOB) == PICTURE
    assert await draw(discord_fake, user_id=BOB) != PICTURE
    said = await admin_says(discord_fake, "reset-user", user=BOB)
    assert said == (
        f"<@{BOB}>'s pictures, spending and cooldown for today are cleared "
        "(pictures still being made stay counted)."
    )
    assert await draw(discord_fake, user_id=BOB) == PICTURE


async def test_the_audit_channel_gets_one_line_per_picture(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot(PARTIAL_IMAGES="0")
    await admin_says(discord_fake, "audit-channel", channel=OTHER_CHANNEL_ID)
    assert await draw(discord_fake, "a lighthouse <@7002>") == PICTURE
    await bot.jobs.drain(5)  # the audit line follows the picture within its job
    (line,) = discord_fake.channel_messages(OTHER_CHANNEL_ID)
    assert f"<@{ALICE}>" in line["content"] and f"<#{CHANNEL_ID}>" in line["content"]
    assert line["_pinged"] == set()
    async with bot.studio.store._sessions() as session:  # kept for /forget-me to delete
        recorded = (await session.scalars(select(Picture.audit_message_id))).all()
    assert recorded == [int(line["id"])]

    discord_fake.forbid_bot(OTHER_CHANNEL_ID)  # the bot may no longer post there
    assert await draw(discord_fake) == PICTURE  # the picture does not depend on the audit
    await bot.jobs.drain(5)
    assert len(discord_fake.channel_messages(OTHER_CHANNEL_ID)) == 1

    assert await admin_says(discord_fake, "audit-channel", clear=True) == (
        "Pictures are not logged to an audit channel now."
    )
    discord_fake.bot_muted.clear()
    assert await draw(discord_fake) == PICTURE
    await bot.jobs.drain(5)
    assert len(discord_fake.channel_messages(OTHER_CHANNEL_ID)) == 1
