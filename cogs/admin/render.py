"""What admins read: sentences, the settings embed, and the line above the spend chart.

Every `*_sentence` is the one sentence an admin reads after a change: what is now in force.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import discord

from bot.formatting import clip, join, plural, usd
from bot.models import GuildSettings
from bot.storage.repository import Usage
from bot.studio import SpendReport
from cogs.common.render import EMBED_COLOUR

SHOWN_MENTIONS: Final = 20
# Both role lists share one embed field (1,024 characters): fewer of each are shown there.
SHOWN_IN_FIELD: Final = 15
MESSAGE_LIMIT: Final = 2000
REFINE_MODES: Final = {
    "reimagine": "refinements are painted anew",
    "edit": "refinements edit the picture",
    "auto": "refinements edit or paint anew, whichever fits",
}


def channel_ref(channel_id: int) -> str:
    """A channel mention."""
    return f"<#{channel_id}>"


def role_ref(role_id: int) -> str:
    """A role mention (shown, never pinged: every send uses no mentions)."""
    return f"<@&{role_id}>"


def user_ref(user_id: int) -> str:
    """A user mention (shown, never pinged)."""
    return f"<@{user_id}>"


def mentions(
    ids: Sequence[int], ref: Callable[[int], str], word: str = "and", most: int = SHOWN_MENTIONS
) -> str:
    """Mentions of the first `most` ids, then how many more."""
    shown = [ref(i) for i in ids[:most]]
    if len(ids) > most:
        shown.append(f"{len(ids) - most} more")
    return join(shown, word)


# --- sentences after a change --------------------------------------------------------------


def _limit_parts(settings: GuildSettings) -> list[str]:
    per_user, server = settings.user_daily_pictures, settings.guild_daily_pictures
    return [
        f"{plural(per_user, 'picture')} per person a day"
        if per_user is not None
        else "no per-person daily picture limit",
        f"{plural(server, 'picture')} a day for the whole server"
        if server is not None
        else "no server-wide daily picture limit",
        f"a {settings.cooldown_seconds} s cooldown between a person's pictures"
        if settings.cooldown_seconds
        else "no cooldown",
        f"at most {settings.user_running} running and {settings.user_queued} waiting "
        "pictures per person",
    ]


def limits_sentence(settings: GuildSettings) -> str:
    """Picture limits, cooldown and jobs in force."""
    return f"Now in force: {join(_limit_parts(settings))}."


def _budget_parts(settings: GuildSettings) -> list[str]:
    def cap(value: float | None, text: str, none: str) -> str:
        return none if value is None else text.format(usd(round(value * 1_000_000)))

    return [
        cap(settings.guild_daily_usd, "{} a day for the server", "no daily server budget"),
        cap(settings.guild_monthly_usd, "{} a month for the server", "no monthly server budget"),
        cap(settings.user_daily_usd, "{} per person a day", "no per-person daily budget"),
    ]


def budget_sentence(settings: GuildSettings) -> str:
    """Money caps in force."""
    return (
        f"Now in force: {join(_budget_parts(settings))} "
        "(a picture starts only if its estimated cost still fits)."
    )


def _where(settings: GuildSettings) -> str:
    ids = settings.channel_ids
    if settings.channel_mode == "allow":
        if not ids:
            return "only in listed channels, and none is listed yet"
        return f"only in {mentions(ids, channel_ref)} (and their threads)"
    if settings.channel_mode == "deny" and ids:
        return f"everywhere except {mentions(ids, channel_ref)} (and their threads)"
    return "in every channel"


def channels_sentence(settings: GuildSettings) -> str:
    """Where pictures may be made in a server."""
    return f"Pictures can now be made {_where(settings)}; server admins can draw anywhere."


def dms_sentence(settings: GuildSettings) -> str:
    """Whether pictures may be made in DMs (the bot-wide setting)."""
    if settings.allow_dms:
        return "Pictures can now be made in direct messages with the bot."
    return "Pictures can no longer be made in direct messages with the bot."


def _who(settings: GuildSettings, most: int = SHOWN_MENTIONS) -> tuple[str, str]:
    allowed, exempt = settings.allowed_role_ids, settings.exempt_role_ids
    drawing = (
        f"only members with {mentions(allowed, role_ref, 'or', most)} (and server admins)"
        if allowed
        else "everyone"
    )
    skipping = (
        f"{mentions(exempt, role_ref, 'and', most)} skip the per-person limits"
        if exempt
        else "no role skips the per-person limits"
    )
    return drawing, skipping


def roles_sentence(settings: GuildSettings) -> str:
    """Who may draw and who skips the per-person limits."""
    drawing, skipping = _who(settings)
    return f"Now {drawing} can make pictures, and {skipping} (server admins always do)."


def _defaults_parts(settings: GuildSettings, bot_model: str) -> list[str]:
    styles = (
        f"only the styles {', '.join(settings.allowed_styles)} (or none)"
        if settings.allowed_styles
        else "any style"
    )
    who = "anyone" if settings.remix == "anyone" else "only the requester (and admins)"
    return [
        f"{settings.default_size} pictures at {settings.default_quality} quality by default",
        "square pictures only" if settings.max_size == "square" else "any shape",
        f"quality up to {settings.max_quality}",
        styles,
        f"the model {settings.model}" if settings.model else f"the bot's model ({bot_model})",
        f"prompt expansion {'on' if settings.expand_default else 'off'} by default",
        f"prompt previews {'on' if settings.preview else 'off'} by default",
        REFINE_MODES[settings.refine_mode],
        f"{who} may reroll, refine or vary a picture",
        f"the content check {'on' if settings.moderation else 'off'}",
    ]


def defaults_sentence(settings: GuildSettings, bot_model: str) -> str:
    """Request defaults and ceilings in force."""
    return f"Now in force: {join(_defaults_parts(settings, bot_model))}."


def style_guide_sentence(settings: GuildSettings) -> str:
    """The style guide in force (user text: send with no mentions)."""
    if not settings.style_guide:
        return "There is no style guide now."
    return f"The style guide is now: “{discord.utils.escape_markdown(settings.style_guide)}”."


def blocked_words_sentence(settings: GuildSettings) -> str:
    """How many words are blocked now."""
    count = len(settings.blocked_words)
    if not count:
        return "No words or phrases are blocked now."
    noun = "word or phrase is" if count == 1 else "words or phrases are"
    return f"{count} {noun} blocked now (see them with action: list)."


def blocked_words_list(settings: GuildSettings) -> str:
    """The blocked words, as many as fit in one message (user text: no mentions)."""
    words = settings.blocked_words
    if not words:
        return "No words or phrases are blocked here."
    text = "Blocked here: "
    for shown, word in enumerate(words):
        piece = ("" if shown == 0 else ", ") + discord.utils.escape_markdown(word)
        rest = f" … and {len(words) - shown} more."
        if len(text) + len(piece) + len(rest) > MESSAGE_LIMIT:
            return text + rest
        text += piece
    return text + "."


def audit_sentence(settings: GuildSettings) -> str:
    """Where pictures are logged now."""
    if settings.audit_channel_id is None:
        return "Pictures are not logged to an audit channel now."
    return f"Each new picture is now logged in {channel_ref(settings.audit_channel_id)}."


def reset_sentence(user_id: int) -> str:
    """After /imagine-admin reset-user."""
    return (
        f"{user_ref(user_id)}'s pictures, spending and cooldown for today are cleared "
        "(pictures still being made stay counted)."
    )


# --- overviews -----------------------------------------------------------------------------


def spend_summary(report: SpendReport, place: str) -> str:
    """The line above the spend chart: the days' pictures and money, and today's against the
    daily budget."""
    cap = report.daily_cap_micros
    of = "" if cap is None else f" of the {usd(cap)} daily budget"
    days = plural(len(report.days), "day")
    return (
        f"The last {days} in {discord.utils.escape_markdown(clip(place, 100))}: "
        f"{plural(report.pictures, 'picture')}, {usd(report.spent_micros)} spent; today "
        f"{usd(report.days[-1].spent_micros)}{of}."
    )


def _usage_line(label: str, usage: Usage) -> str:
    line = f"{label}: {plural(usage.pictures, 'picture')}, {usd(usage.spent_micros)} spent"
    if usage.reserved_micros:
        line += f", {usd(usage.reserved_micros)} held for pictures under way"
    return line


def settings_embed(
    settings: GuildSettings,
    today: Usage,
    month: Usage,
    *,
    dm_scope: bool,
    bot_model: str,
    zone: str,
) -> discord.Embed:
    """Every setting and this server's usage at a glance (for /imagine-admin show)."""
    where = "direct messages" if dm_scope else "this server"
    embed = discord.Embed(title=f"Picasso settings for {where}", colour=EMBED_COLOUR)
    embed.add_field(
        name="Usage",
        value=f"{_usage_line('Today', today)}\n{_usage_line('This month', month)}\n"
        f"Days and months run on {zone} time.",
        inline=False,
    )
    embed.add_field(name="Limits", value="\n".join(_limit_parts(settings)), inline=False)
    embed.add_field(name="Budget", value="\n".join(_budget_parts(settings)), inline=False)
    if dm_scope:
        embed.add_field(name="Direct messages", value=dms_sentence(settings), inline=False)
    else:
        drawing, skipping = _who(settings, SHOWN_IN_FIELD)
        embed.add_field(
            name="Channels", value=f"Pictures can be made {_where(settings)}", inline=False
        )
        embed.add_field(name="Roles", value=f"Drawing: {drawing}\n{skipping}", inline=False)
        audit = settings.audit_channel_id
        embed.add_field(
            name="Audit channel", value=channel_ref(audit) if audit else "none", inline=False
        )
    embed.add_field(
        name="Defaults", value="\n".join(_defaults_parts(settings, bot_model)), inline=False
    )
    guide = settings.style_guide
    embed.add_field(
        name="Style guide",
        value=clip(discord.utils.escape_markdown(guide), 1000) if guide else "none",
        inline=False,
    )
    embed.add_field(name="Blocked words", value=blocked_words_sentence(settings), inline=False)
    return embed
