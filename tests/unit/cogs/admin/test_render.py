"""cogs/admin/render.py: the sentence an admin reads after each change, and the settings
embed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import discord
import pytest

from bot.models import GuildSettings, Quality, RefineMode, Size
from bot.storage.counting import Usage
from bot.storage.reports import DaySpend, last_days
from bot.studio import SpendReport
from cogs.admin.render import (
    audit_sentence,
    blocked_words_list,
    blocked_words_sentence,
    budget_sentence,
    channels_sentence,
    defaults_sentence,
    dms_sentence,
    limits_sentence,
    reset_sentence,
    roles_sentence,
    settings_embed,
    spend_summary,
    style_guide_sentence,
)

DEFAULTS = GuildSettings()
MODEL = "gpt-image-2"
MANY = tuple(range(101, 126))  # 25 ids: more than the 20 mentions shown
BIG = tuple(1_400_000_000_000_000_000 + n for n in range(50))  # real-sized snowflakes


def test_default_limits() -> None:
    assert limits_sentence(DEFAULTS) == (
        "Now in force: no per-person daily picture limit, no server-wide daily picture limit, "
        "no cooldown and at most 2 running and 3 waiting pictures per person."
    )


def test_changed_limits() -> None:
    settings = DEFAULTS.replace(
        user_daily_pictures=1,
        guild_daily_pictures=50,
        cooldown_seconds=30,
        user_running=1,
        user_queued=0,
    )
    assert limits_sentence(settings) == (
        "Now in force: 1 picture per person a day, 50 pictures a day for the whole server, "
        "a 30 s cooldown between a person's pictures and at most 1 running and 0 waiting "
        "pictures per person."
    )


def test_default_budget() -> None:
    assert budget_sentence(DEFAULTS) == (
        "Now in force: no daily server budget, no monthly server budget and no per-person "
        "daily budget (a picture starts only if its estimated cost still fits)."
    )


def test_changed_budget() -> None:
    settings = DEFAULTS.replace(guild_daily_usd=5, guild_monthly_usd=100.5, user_daily_usd=0.0816)
    assert budget_sentence(settings) == (
        "Now in force: $5.00 a day for the server, $100.50 a month for the server and "
        "$0.0816 per person a day (a picture starts only if its estimated cost still fits)."
    )


@pytest.mark.parametrize(
    ("mode", "ids", "where"),
    [
        ("all", (1, 2), "in every channel"),
        ("allow", (), "only in listed channels, and none is listed yet"),
        ("allow", (1, 2), "only in <#1> and <#2> (and their threads)"),
        ("deny", (), "in every channel"),
        ("deny", (1,), "everywhere except <#1> (and their threads)"),
    ],
)
def test_channels(mode: str, ids: tuple[int, ...], where: str) -> None:
    settings = DEFAULTS.replace(channel_mode=mode, channel_ids=ids)
    assert channels_sentence(settings) == (
        f"Pictures can now be made {where}; server admins can draw anywhere."
    )


@pytest.mark.parametrize("mode", ["allow", "deny"])
def test_many_channels_show_the_first_twenty_then_how_many_more(mode: str) -> None:
    sentence = channels_sentence(DEFAULTS.replace(channel_mode=mode, channel_ids=MANY))
    assert "<#101>, <#102>" in sentence
    assert "<#120> and 5 more (and their threads)" in sentence
    assert "<#121>" not in sentence


def test_dms() -> None:
    assert dms_sentence(DEFAULTS) == "Pictures can now be made in direct messages with the bot."
    assert dms_sentence(DEFAULTS.replace(allow_dms=False)) == (
        "Pictures can no longer be made in direct messages with the bot."
    )


def test_default_roles() -> None:
    assert roles_sentence(DEFAULTS) == (
        "Now everyone can make pictures, and no role skips the per-person limits "
        "(server admins always do)."
    )


def test_changed_roles() -> None:
    settings = DEFAULTS.replace(allowed_role_ids=(7, 8), exempt_role_ids=(9,))
    assert roles_sentence(settings) == (
        "Now only members with <@&7> or <@&8> (and server admins) can make pictures, "
        "and <@&9> skip the per-person limits (server admins always do)."
    )


def test_default_defaults_name_the_bots_model() -> None:
    assert defaults_sentence(DEFAULTS, MODEL) == (
        "Now in force: square pictures at auto quality by default, any shape, quality up to "
        "high, up to 4 pictures a request, any style, the bot's model (gpt-image-2), "
        "prompt expansion on by default, "
        "prompt previews off by default, refinements are painted anew, anyone may reroll, "
        "refine or vary a picture and the content check on."
    )


def test_changed_defaults_name_the_servers_model() -> None:
    settings = DEFAULTS.replace(
        default_size=Size.PORTRAIT,
        default_quality=Quality.MEDIUM,
        max_size="square",
        max_quality=Quality.MEDIUM,
        allowed_styles=("anime", "oil painting"),
        model="gpt-image-1-mini",
        expand_default=False,
        refine_mode="edit",
        remix="requester",
        moderation=False,
        preview=True,
        max_count=1,
    )
    assert defaults_sentence(settings, MODEL) == (
        "Now in force: portrait pictures at medium quality by default, square pictures only, "
        "quality up to medium, up to 1 picture a request, "
        "only the styles anime, oil painting (or none), the model "
        "gpt-image-1-mini, prompt expansion off by default, prompt previews on by default, "
        "refinements edit the picture, "
        "only the requester (and admins) may reroll, refine or vary a picture and the "
        "content check off."
    )


@pytest.mark.parametrize("mode", get_args(RefineMode))
def test_every_refine_mode_has_words(mode: str) -> None:
    assert "refinements " in defaults_sentence(DEFAULTS.replace(refine_mode=mode), MODEL)


def test_style_guide() -> None:
    assert style_guide_sentence(DEFAULTS) == "There is no style guide now."
    guide = DEFAULTS.replace(style_guide="*bold* and _soft_ light")
    assert style_guide_sentence(guide) == (
        "The style guide is now: “\\*bold\\* and \\_soft\\_ light”."
    )


def test_blocked_words_count() -> None:
    assert blocked_words_sentence(DEFAULTS) == "No words or phrases are blocked now."
    one = DEFAULTS.replace(blocked_words=("gore",))
    assert blocked_words_sentence(one) == (
        "1 word or phrase is blocked now (see them with action: list)."
    )
    three = DEFAULTS.replace(blocked_words=("gore", "blood", "war"))
    assert blocked_words_sentence(three) == (
        "3 words or phrases are blocked now (see them with action: list)."
    )


def test_blocked_words_list() -> None:
    assert blocked_words_list(DEFAULTS) == "No words or phrases are blocked here."
    few = DEFAULTS.replace(blocked_words=("gore", "blood_bath"))
    assert blocked_words_list(few) == "Blocked here: gore, blood\\_bath."


def test_a_long_blocked_words_list_fits_one_message() -> None:
    words = tuple(f"{n:03} " + "w" * 45 for n in range(200))
    text = blocked_words_list(DEFAULTS.replace(blocked_words=words))
    shown = text.count(" " + "w" * 45)
    assert len(text) <= 2000
    assert shown > 30
    assert text.endswith(f"{'w' * 45} … and {200 - shown} more.")


def test_audit_and_reset() -> None:
    assert audit_sentence(DEFAULTS) == "Pictures are not logged to an audit channel now."
    logged = DEFAULTS.replace(audit_channel_id=55)
    assert audit_sentence(logged) == "Each new picture is now logged in <#55>."
    assert reset_sentence(7001) == (
        "<@7001>'s pictures, spending and cooldown for today are cleared "
        "(pictures still being made stay counted)."
    )


def embed_of(settings: GuildSettings, *, dm_scope: bool = False) -> discord.Embed:
    today = Usage(pictures=3, reserved_micros=80_000, spent_micros=250_000)
    month = Usage(pictures=1, spent_micros=1_000_000)
    return settings_embed(
        settings, today, month, dm_scope=dm_scope, bot_model=MODEL, zone="Europe/Paris"
    )


def values(embed: discord.Embed) -> dict[str, str | None]:
    return {field.name or "": field.value for field in embed.fields}


def test_a_servers_settings_embed() -> None:
    settings = DEFAULTS.replace(audit_channel_id=55, style_guide="*muted* colours")
    embed = embed_of(settings)
    assert embed.title == "Picasso settings for this server"
    shown = values(embed)
    assert list(shown) == [
        "Usage",
        "Limits",
        "Budget",
        "Channels",
        "Roles",
        "Audit channel",
        "Defaults",
        "Style guide",
        "Blocked words",
    ]
    assert shown["Usage"] == (
        "Today: 3 pictures, $0.25 spent, $0.08 held for pictures under way\n"
        "This month: 1 picture, $1.00 spent\n"
        "Days and months run on Europe/Paris time."
    )
    assert shown["Channels"] == "Pictures can be made in every channel"
    assert shown["Roles"] == "Drawing: everyone\nno role skips the per-person limits"
    assert shown["Audit channel"] == "<#55>"
    assert shown["Style guide"] == "\\*muted\\* colours"
    assert shown["Blocked words"] == "No words or phrases are blocked now."


def test_the_dm_settings_embed_leaves_out_what_only_servers_have() -> None:
    embed = embed_of(DEFAULTS.replace(allow_dms=False), dm_scope=True)
    assert embed.title == "Picasso settings for direct messages"
    shown = values(embed)
    assert list(shown) == [
        "Usage",
        "Limits",
        "Budget",
        "Direct messages",
        "Defaults",
        "Style guide",
        "Blocked words",
    ]
    assert shown["Direct messages"] == dms_sentence(DEFAULTS.replace(allow_dms=False))
    assert shown["Style guide"] == "none"


def test_every_settings_field_fits_discord_with_the_most_roles() -> None:
    settings = DEFAULTS.replace(allowed_role_ids=BIG, exempt_role_ids=BIG)
    embed = embed_of(settings)
    assert all(len(field.value or "") <= 1024 for field in embed.fields)


def test_the_line_above_the_spend_chart() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    days = tuple(DaySpend(day, 1, 27_200) for day in last_days(now))
    report = SpendReport(4242, days, (), 1_000_000, None, now)
    assert spend_summary(report, "*Harbour* Club") == (
        "The last 30 days in \\*Harbour\\* Club: 30 pictures, $0.816 spent; today $0.0272 of "
        "the $1.00 daily budget."
    )
    uncapped = SpendReport(0, days[:1], (), None, 5_000_000, now)
    assert spend_summary(uncapped, "direct messages") == (
        "The last 1 day in direct messages: 1 picture, $0.0272 spent; today $0.0272."
    )
