"""What admins read: sentences, the settings embed, and the line above the spend chart.

Every `*_sentence` is the one sentence an admin reads after a change: what is now in force,
in the admin's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Literal

import discord

from bot.formatting import clip, join, usd
from bot.i18n import N_, _, ngettext, pgettext
from bot.models import GuildSettings
from bot.storage.repository import Usage
from bot.studio import SpendReport
from cogs.common.render import EMBED_COLOUR

SHOWN_MENTIONS: Final = 20
# Both role lists share one embed field (1,024 characters): fewer of each are shown there.
SHOWN_IN_FIELD: Final = 15
MESSAGE_LIMIT: Final = 2000
REFINE_MODES: Final = {
    "reimagine": N_("refinements are painted anew"),
    "edit": N_("refinements edit the picture"),
    "auto": N_("refinements edit or paint anew, whichever fits"),
}

# --- refusals (msgids: translated where they are shown) ------------------------------------

NOT_ADMIN = N_("Only server admins (Manage Server permission) can change Picasso's settings.")
NOT_OWNER = N_("Only the bot's owner can change Picasso's settings for direct messages.")
SERVER_ONLY = N_("That setting exists only in servers — use it in the server you want to change.")
DMS_ARE_BOT_WIDE = N_(
    "Whether pictures can be made in DMs is bot-wide: the bot's owner sets it with "
    "/imagine-admin channels in a DM with the bot."
)
NO_WORDS = {
    "add": N_("Give the words to add, separated by commas."),
    "remove": N_("Give the words to remove, separated by commas."),
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
    ids: Sequence[int],
    ref: Callable[[int], str],
    word: Literal["and", "or"] = "and",
    most: int = SHOWN_MENTIONS,
) -> str:
    """Mentions of the first `most` ids, then how many more."""
    shown = [ref(i) for i in ids[:most]]
    if len(ids) > most:
        shown.append(_("{count} more").format(count=len(ids) - most))
    return join(shown, word)


# --- sentences after a change --------------------------------------------------------------


def _limit_parts(settings: GuildSettings) -> list[str]:
    per_user, server = settings.user_daily_pictures, settings.guild_daily_pictures
    return [
        ngettext(
            "{count} picture per person a day", "{count} pictures per person a day", per_user
        ).format(count=per_user)
        if per_user is not None
        else _("no per-person daily picture limit"),
        ngettext(
            "{count} picture a day for the whole server",
            "{count} pictures a day for the whole server",
            server,
        ).format(count=server)
        if server is not None
        else _("no server-wide daily picture limit"),
        _("a {seconds} s cooldown between a person's pictures").format(
            seconds=settings.cooldown_seconds
        )
        if settings.cooldown_seconds
        else _("no cooldown"),
        _("at most {running} running and {waiting} waiting pictures per person").format(
            running=settings.user_running, waiting=settings.user_queued
        ),
    ]


def limits_sentence(settings: GuildSettings) -> str:
    """Picture limits, cooldown and jobs in force."""
    return _now_in_force(_limit_parts(settings))


def _now_in_force(parts: list[str]) -> str:
    return _("Now in force: {settings}.").format(settings=join(parts))


def _budget_parts(settings: GuildSettings) -> list[str]:
    def cap(value: float | None, text: str, none: str) -> str:
        return none if value is None else text.format(amount=usd(round(value * 1_000_000)))

    return [
        cap(
            settings.guild_daily_usd,
            _("{amount} a day for the server"),
            _("no daily server budget"),
        ),
        cap(
            settings.guild_monthly_usd,
            _("{amount} a month for the server"),
            _("no monthly server budget"),
        ),
        cap(
            settings.user_daily_usd, _("{amount} per person a day"), _("no per-person daily budget")
        ),
    ]


def budget_sentence(settings: GuildSettings) -> str:
    """Money caps in force."""
    return _(
        "Now in force: {settings} (a picture starts only if its estimated cost still fits)."
    ).format(settings=join(_budget_parts(settings)))


def _where(settings: GuildSettings) -> str:
    ids = settings.channel_ids
    if settings.channel_mode == "allow":
        if not ids:
            return _("only in listed channels, and none is listed yet")
        return _("only in {channels} (and their threads)").format(
            channels=mentions(ids, channel_ref)
        )
    if settings.channel_mode == "deny" and ids:
        return _("everywhere except {channels} (and their threads)").format(
            channels=mentions(ids, channel_ref)
        )
    return _("in every channel")


def channels_sentence(settings: GuildSettings) -> str:
    """Where pictures may be made in a server."""
    return _("Pictures can now be made {where}; server admins can draw anywhere.").format(
        where=_where(settings)
    )


def dms_sentence(settings: GuildSettings) -> str:
    """Whether pictures may be made in DMs (the bot-wide setting)."""
    if settings.allow_dms:
        return _("Pictures can now be made in direct messages with the bot.")
    return _("Pictures can no longer be made in direct messages with the bot.")


def _who(settings: GuildSettings, most: int = SHOWN_MENTIONS) -> tuple[str, str]:
    allowed, exempt = settings.allowed_role_ids, settings.exempt_role_ids
    drawing = (
        _("only members with {roles} (and server admins)").format(
            roles=mentions(allowed, role_ref, "or", most)
        )
        if allowed
        else _("everyone")
    )
    skipping = (
        _("{roles} skip the per-person limits").format(
            roles=mentions(exempt, role_ref, "and", most)
        )
        if exempt
        else _("no role skips the per-person limits")
    )
    return drawing, skipping


def roles_sentence(settings: GuildSettings) -> str:
    """Who may draw and who skips the per-person limits."""
    drawing, skipping = _who(settings)
    return _("Now {drawing} can make pictures, and {skipping} (server admins always do).").format(
        drawing=drawing, skipping=skipping
    )


def _defaults_parts(settings: GuildSettings, bot_model: str) -> list[str]:
    styles = (
        _("only the styles {styles} (or none)").format(styles=", ".join(settings.allowed_styles))
        if settings.allowed_styles
        else _("any style")
    )
    count = settings.max_count
    # Sizes and qualities read as the words their command choices show.
    return [
        _("{size} pictures at {quality} quality by default").format(
            size=_(settings.default_size.label), quality=_(settings.default_quality.value)
        ),
        _("square pictures only") if settings.max_size == "square" else _("any shape"),
        _("quality up to {quality}").format(quality=_(settings.max_quality.value)),
        ngettext(
            "up to {count} picture a request", "up to {count} pictures a request", count
        ).format(count=count),
        styles,
        _("the model {model}").format(model=settings.model)
        if settings.model
        else _("the bot's model ({model})").format(model=bot_model),
        _("prompt expansion on by default")
        if settings.expand_default
        else _("prompt expansion off by default"),
        _("prompt previews on by default")
        if settings.preview
        else _("prompt previews off by default"),
        _(REFINE_MODES[settings.refine_mode]),
        _("anyone may reroll, refine or vary a picture")
        if settings.remix == "anyone"
        else _("only the requester (and admins) may reroll, refine or vary a picture"),
        _("the content check on") if settings.moderation else _("the content check off"),
    ]


def defaults_sentence(settings: GuildSettings, bot_model: str) -> str:
    """Request defaults and ceilings in force."""
    return _now_in_force(_defaults_parts(settings, bot_model))


def style_guide_sentence(settings: GuildSettings) -> str:
    """The style guide in force (user text: send with no mentions)."""
    if not settings.style_guide:
        return _("There is no style guide now.")
    return _("The style guide is now: “{guide}”.").format(
        guide=discord.utils.escape_markdown(settings.style_guide)
    )


def blocked_words_sentence(settings: GuildSettings) -> str:
    """How many words are blocked now."""
    count = len(settings.blocked_words)
    if not count:
        return _("No words or phrases are blocked now.")
    return ngettext(
        "{count} word or phrase is blocked now (see them with action: list).",
        "{count} words or phrases are blocked now (see them with action: list).",
        count,
    ).format(count=count)


def blocked_words_list(settings: GuildSettings) -> str:
    """The blocked words, as many as fit in one message (user text: no mentions)."""
    words = settings.blocked_words
    if not words:
        return _("No words or phrases are blocked here.")
    text = _("Blocked here: ")
    for shown, word in enumerate(words):
        piece = ("" if shown == 0 else ", ") + discord.utils.escape_markdown(word)
        rest = _(" … and {count} more.").format(count=len(words) - shown)
        if len(text) + len(piece) + len(rest) > MESSAGE_LIMIT:
            return text + rest
        text += piece
    return text + "."


def audit_sentence(settings: GuildSettings) -> str:
    """Where pictures are logged now."""
    if settings.audit_channel_id is None:
        return _("Pictures are not logged to an audit channel now.")
    return _("Each new picture is now logged in {channel}.").format(
        channel=channel_ref(settings.audit_channel_id)
    )


def reset_sentence(user_id: int) -> str:
    """After /imagine-admin reset-user."""
    return _(
        "{user}'s pictures, spending and cooldown for today are cleared "
        "(pictures still being made stay counted)."
    ).format(user=user_ref(user_id))


# --- overviews -----------------------------------------------------------------------------


def spend_summary(report: SpendReport, place: str) -> str:
    """The line above the spend chart: the days' pictures and money, and today's against the
    daily budget."""
    cap = report.daily_cap_micros
    days, pictures = len(report.days), report.pictures
    spent = ngettext(
        "{count} picture, {amount} spent", "{count} pictures, {amount} spent", pictures
    ).format(count=pictures, amount=usd(report.spent_micros))
    today = usd(report.days[-1].spent_micros)
    if cap is not None:
        today = _("{amount} of the {cap} daily budget").format(amount=today, cap=usd(cap))
    summary = ngettext(
        "The last {count} day in {place}: {spent}; today {today}.",
        "The last {count} days in {place}: {spent}; today {today}.",
        days,
    )
    place = discord.utils.escape_markdown(clip(place, 100))
    return summary.format(count=days, place=place, spent=spent, today=today)


def _usage_line(label: str, usage: Usage) -> str:
    """`label` (a msgid with {usage}) with the pictures and money of `usage`."""
    pictures = usage.pictures
    spent = ngettext(
        "{count} picture, {amount} spent", "{count} pictures, {amount} spent", pictures
    ).format(count=pictures, amount=usd(usage.spent_micros))
    if usage.reserved_micros:
        spent = _("{spent}, {amount} held for pictures under way").format(
            spent=spent, amount=usd(usage.reserved_micros)
        )
    return _(label).format(usage=spent)


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
    title = (
        _("Picasso settings for direct messages")
        if dm_scope
        else _("Picasso settings for this server")
    )
    embed = discord.Embed(title=title, colour=EMBED_COLOUR)
    usage = (
        _usage_line(N_("Today: {usage}"), today),
        _usage_line(N_("This month: {usage}"), month),
        _("Days and months run on {zone} time.").format(zone=zone),
    )
    embed.add_field(name=_("Usage"), value="\n".join(usage), inline=False)
    embed.add_field(name=_("Limits"), value="\n".join(_limit_parts(settings)), inline=False)
    embed.add_field(name=_("Budget"), value="\n".join(_budget_parts(settings)), inline=False)
    none = pgettext("setting", "none")  # a setting left empty
    if dm_scope:
        embed.add_field(name=_("Direct messages"), value=dms_sentence(settings), inline=False)
    else:
        drawing, skipping = _who(settings, SHOWN_IN_FIELD)
        where = _("Pictures can be made {where}").format(where=_where(settings))
        embed.add_field(name=_("Channels"), value=where, inline=False)
        roles = _("Drawing: {drawing}").format(drawing=drawing)
        embed.add_field(name=_("Roles"), value=f"{roles}\n{skipping}", inline=False)
        audit = settings.audit_channel_id
        embed.add_field(
            name=_("Audit channel"), value=channel_ref(audit) if audit else none, inline=False
        )
    embed.add_field(
        name=_("Defaults"), value="\n".join(_defaults_parts(settings, bot_model)), inline=False
    )
    guide = settings.style_guide
    embed.add_field(
        name=_("Style guide"),
        value=clip(discord.utils.escape_markdown(guide), 1000) if guide else none,
        inline=False,
    )
    embed.add_field(name=_("Blocked words"), value=blocked_words_sentence(settings), inline=False)
    return embed
