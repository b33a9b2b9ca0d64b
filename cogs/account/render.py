"""What a person reads about the bot and their own standing: the welcome, /help, /quota,
and /forget-me's sentences, in the reader's language (the constants are msgids: translate
them where they are shown)."""

from __future__ import annotations

import math

import discord

from bot.formatting import duration, usd, zone_name
from bot.i18n import N_, _, ngettext
from bot.policy import next_midnight, until
from bot.storage.repository import Forgotten
from bot.studio import Standing
from cogs.common.render import EMBED_COLOUR


def _left(limit: int | None, used: int, money: bool = False) -> str:
    if limit is None:
        return _("no limit")
    left = max(0, limit - used)
    if money:
        return _("{left} of {limit} left").format(left=usd(left), limit=usd(limit))
    return _("{left} of {limit} left").format(left=left, limit=limit)


def quota_embed(standing: Standing) -> discord.Embed:
    """Where one person stands (for /quota)."""
    return discord.Embed(
        title=_("Your quota here"),
        description="\n".join(standing_lines(standing)),
        colour=EMBED_COLOUR,
    )


def standing_lines(standing: Standing) -> list[str]:
    """What is left for one person here, one line per limit, and when counts reset."""
    limits, now = standing.limits, standing.now
    user, server, month = standing.user_today, standing.guild_today, standing.guild_month
    lines = [
        _("Your pictures today: {left}").format(
            left=_left(limits.user_daily_pictures, user.pictures)
        ),
        _("Server pictures today: {left}").format(
            left=_left(limits.guild_daily_pictures, server.pictures)
        ),
    ]
    for label, cap, usage in (
        (N_("Your money today: {left}"), limits.user_daily_micros, user),
        (N_("Server money today: {left}"), limits.guild_daily_micros, server),
        (N_("Server money this month: {left}"), limits.guild_monthly_micros, month),
    ):
        if cap is not None:
            used = usage.spent_micros + usage.reserved_micros
            lines.append(_(label).format(left=_left(cap, used, money=True)))
    wait = standing.cooldown_left
    # Rounded up, as the refusal says it: "ready" only when a picture would be admitted.
    lines.append(
        _("Cooldown: wait {seconds} s").format(seconds=math.ceil(wait))
        if wait > 0
        else _("Cooldown: ready")
    )
    most = (
        None
        if limits.user_running is None or limits.user_queued is None
        else limits.user_running + limits.user_queued
    )
    on_the_way = (
        _("Your pictures on the way: {count}")
        if most is None
        else _("Your pictures on the way: {count} (at most {most})")
    )
    lines.append(on_the_way.format(count=standing.in_flight, most=most))
    if standing.exempt:
        lines.append(_("Your role (or admin standing) lifts the per-person limits."))
    lines.append(
        _("Daily counts reset in {wait} (midnight {zone}).").format(
            wait=duration(until(next_midnight(now), now)), zone=zone_name(now)
        )
    )
    return lines


WELCOME = N_(
    "👋 Hi, I'm **Picasso** — I turn a few words into a finished picture.\n"
    "• `/imagine a lighthouse at dusk` paints it: I write the detailed prompt for you.\n"
    "• Reply to one of my pictures with a change — “make it night” — or press ✏️ Refine, "
    "and I paint the new version.\n"
    "• `/queue` shows your pictures on the way, with ❌ Cancel.\n"
    "• Server admins choose who may draw, where, how much and at what cost with "
    "`/imagine-admin`. Anyone can ask `/help`."
)
DATA = N_(
    "I keep what you asked for (descriptions, prompts, changes) with each picture, so you can "
    "refine it and see its history; where a server's admins chose an audit channel, a line "
    "there quotes each picture's prompt. 🗑️ Delete removes a picture and erases its words. "
    "`/forget-me` erases all your words in this server (with `everywhere`, or in our direct "
    "messages: in every server), also where others rerolled, refined or varied your "
    "pictures, and the audit lines about them."
)
FORGET_KEEPS = N_(
    "What stays, without words: what each picture cost, how many you made, when and where, "
    "with which settings, and which picture was made from which — so the books and limits "
    "still add up. Your pictures stay posted on Discord: I don't delete posted pictures — "
    "🗑️ Delete under a picture removes it."
)


def help_embed(standing: Standing) -> discord.Embed:
    """/help: what the bot does and how, and this person's limits where they ask."""
    embed = discord.Embed(title="Picasso", description=_(WELCOME), colour=EMBED_COLOUR)
    embed.add_field(
        name=_("Your limits here"), value="\n".join(standing_lines(standing)), inline=False
    )
    embed.add_field(name=_("Your data"), value=_(DATA), inline=False)
    embed.add_field(name=_("What /forget-me keeps"), value=_(FORGET_KEEPS), inline=False)
    return embed


FORGET_ASK = N_(
    "🗑️ Forget me? In this server I erase, for good, the descriptions, prompts and changes you "
    "asked for — also where others rerolled, refined or varied your pictures — and the audit "
    "channel's lines about them."
)
FORGET_ASK_EVERYWHERE = N_(
    "🗑️ Forget me everywhere? In every server and in our direct messages I erase, for good, "
    "the descriptions, prompts and changes you asked for — also where others rerolled, "
    "refined or varied your pictures — and the audit channels' lines about them."
)
KEPT = N_("Nothing was erased.")


def forget_question(everywhere: bool) -> str:
    """/forget-me's question: what goes, here or everywhere, and what stays."""
    ask = _(FORGET_ASK_EVERYWHERE) if everywhere else _(FORGET_ASK)
    return f"{ask}\n\n{_(FORGET_KEEPS)}"


def forgotten_sentence(forgotten: Forgotten, *, everywhere: bool) -> str:
    """After /forget-me: what was erased (here or everywhere, copies, audit lines), and what
    stays."""
    count = forgotten.pictures
    if everywhere:
        done = ngettext(
            "Done — I erased your words from {count} picture, in every server and in our "
            "direct messages.",
            "Done — I erased your words from {count} pictures, in every server and in our "
            "direct messages.",
            count,
        )
    else:
        done = ngettext(
            "Done — I erased your words from {count} picture in this server.",
            "Done — I erased your words from {count} pictures in this server.",
            count,
        )
    sentences = [done.format(count=count)]
    if forgotten.copies:
        sentences.append(
            ngettext(
                "They are gone from {count} picture others made from yours, too.",
                "They are gone from {count} pictures others made from yours, too.",
                forgotten.copies,
            ).format(count=forgotten.copies)
        )
    if forgotten.audit_lines:
        sentences.append(_("I'm taking them out of the audit channel as well."))
    return f"{' '.join(sentences)}\n\n{_(FORGET_KEEPS)}"
