"""How pictures and jobs look in Discord: the result embed, status lines, the variations
summary, the line (/queue) — text and embeds only, nothing sent from here, in the reader's
language (the constants are msgids: translate them where they are shown)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import discord

from bot import lineage
from bot.formatting import clip, eta_text, join
from bot.i18n import N_, _, ngettext
from bot.imaging.pipeline import ImageResult
from bot.jobs.runner import Status
from bot.jobs.service import QueueEntry
from bot.lineage import jump_url
from bot.models import Stage
from bot.storage.job_records import LIVE, JobKind, JobRecord, JobSpec, JobState
from cogs.common.render import (
    DESCRIPTION_LIMIT,
    EMBED_COLOUR,
    FOOTER_LIMIT,
    MESSAGE_LIMIT,
    TITLE_LIMIT,
)

# Discord caps all text in a message's embeds together; leave room for the short fields.
PROMPT_BUDGET = 3500


def status_line(status: Status, *, refining: bool = False, count: int = 1) -> str:
    """The line shown while a job is under way."""
    stage = status.stage
    if status.restarting:
        return _("⏳ The bot is restarting — your picture keeps its place in line.")
    if stage is Stage.QUEUED and status.provider_wait is not None:
        return _("⏳ Waiting for the image service — {wait}.").format(
            wait=eta_text(status.provider_wait)
        )
    if stage is Stage.QUEUED:
        place = status.place
        if place is None:
            return _("⏳ In line — your picture starts soon.")
        return _("⏳ In line — {place}.").format(
            place=place_text(place.position, place.eta_seconds)
        )
    if count > 1 and stage is Stage.PAINTING:
        return ngettext(
            "🎨 Painting your {count} picture…", "🎨 Painting your {count} pictures…", count
        ).format(count=count)
    if status.preview is not None:
        return _("🎨 Painting your picture… (preview {number})").format(
            number=status.preview_index + 1
        )
    if stage is Stage.EXPANDING:
        if refining:
            return _("🧠 Revising the prompt with your change…")
        return _("🧠 Writing a detailed prompt from your words…")
    return _("🎨 Painting your picture…")


def place_text(position: int, eta_seconds: float | None) -> str:
    """Where a waiting job stands: `position 3 · starts in about 40 s`."""
    if eta_seconds:
        return _("position {position} · starts in {wait}").format(
            position=position, wait=eta_text(eta_seconds)
        )
    return _("position {position}").format(position=position)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a picture comes from, shown under it: how it was made and a link to its parent."""

    kind: str
    parent_url: str | None = None
    take: str | None = None  # "2 of 3" for variations


_ORIGIN_FIELDS = {
    lineage.REROLL: N_("Reroll of"),
    lineage.REFINE: N_("Refined from"),
    lineage.EDIT: N_("Edited from"),
    lineage.PROMPT: N_("Refined from"),
    lineage.VARIATION: N_("Variation of"),
}


def _picture_link(url: str | None) -> str:
    """A link to the picture at `url`, or words saying it was deleted."""
    return _("[this picture]({url})").format(url=url) if url else _("a deleted picture")


def _add_origin(embed: discord.Embed, result: ImageResult, origin: Origin) -> None:
    name = _ORIGIN_FIELDS.get(origin.kind)
    if name is None:
        return
    link = _picture_link(origin.parent_url)
    if origin.take:
        link = _("{link} · take {take}").format(link=link, take=origin.take)
    embed.add_field(name=_(name), value=link, inline=False)
    if origin.kind == lineage.PROMPT:
        embed.add_field(name=_("What changed"), value=_("the prompt, edited by hand"), inline=False)
    elif result.change:
        embed.add_field(name=_("What changed"), value=clip(result.change, 200), inline=False)


_FOOTERS = {
    lineage.REROLL: N_("The same prompt, painted again"),
    lineage.REFINE: N_("Prompt revised by the chat model"),
    lineage.EDIT: N_("Edited from the earlier picture, composition kept"),
    lineage.PROMPT: N_("Your prompt, as written"),
    lineage.VARIATION: N_("A new take on the same description"),
}


def _footer(result: ImageResult, origin: Origin | None) -> str:
    if result.note:  # made in the requester's language (bot.imaging.pipeline, bot.policy)
        return result.note
    if origin is not None and origin.kind in _FOOTERS:
        return _(_FOOTERS[origin.kind])
    if result.expanded:
        return _("Prompt expanded by the chat model")
    return _("Your words, as written")


def result_embed(
    result: ImageResult,
    requester: str,
    avatar_url: str | None,
    filename: str | None,
    origin: Origin | None = None,
) -> discord.Embed:
    """The embed shown under a finished picture (user text lives only in embeds, never pings).

    With an `origin` it links the parent picture and says what changed; without a
    `filename` it shows no picture (a set shows each in an embed of its own).
    """
    request = result.request
    embed = discord.Embed(
        title=clip(request.description, TITLE_LIMIT),
        description=clip(result.prompt, PROMPT_BUDGET),
        colour=EMBED_COLOUR,
    )
    requested = _("Requested by {name}").format(name=requester)
    embed.set_author(name=clip(requested, TITLE_LIMIT), icon_url=avatar_url)
    embed.add_field(name=_("Model"), value=result.image.model, inline=True)
    # The size, quality and style are named by the words their command choices show.
    size, quality = _(request.size.label), _(request.quality.value)
    embed.add_field(
        name=_("Size · quality"),
        value=f"{size} ({request.size.value}) · {quality}",
        inline=True,
    )
    embed.add_field(name=_("Est. cost"), value=f"${result.cost_usd:.3f}", inline=True)
    if request.style.value:
        embed.add_field(name=_("Style"), value=_(request.style.label), inline=True)
    if origin is not None:
        _add_origin(embed, result, origin)
    embed.set_footer(text=clip(_footer(result, origin), FOOTER_LIMIT))
    if filename is not None:
        embed.set_image(url=f"attachment://{filename}")
    return embed


def set_embeds(
    result: ImageResult,
    requester: str,
    avatar_url: str | None,
    filenames: Sequence[str],
    origin: Origin | None = None,
) -> list[discord.Embed]:
    """The embeds of a set of pictures posted together: what was asked for and how (as
    `result_embed`, without a picture), then each picture under its number."""
    head = result_embed(result, requester, avatar_url, None, origin)
    return [head] + [picture_embed(number, name) for number, name in enumerate(filenames, 1)]


def picture_embed(number: int, filename: str) -> discord.Embed:
    """Picture `number` of a set, under its number (the buttons of its row carry it too)."""
    embed = discord.Embed(description=set_number(number), colour=EMBED_COLOUR)
    embed.set_image(url=f"attachment://{filename}")
    return embed


def picture_stem(number: int) -> str:
    """The file name (without extension) of picture `number` of a set."""
    return f"picasso-{number}"


def set_number(number: int) -> str:
    """How a picture's number in its set is shown (and found again, to take it out)."""
    return f"**#{number}**"


def variations_summary(spec: JobSpec, takes: list[JobRecord]) -> str:
    """One line about a batch of variations: a link to each posted take, the takes still
    under way, and why the others failed (each reason once, with the takes it stopped)."""
    parts: list[str] = []
    failed: dict[str, list[str]] = {}
    made = 0
    for take in takes:
        number = str((take.take or 0) + 1)
        if take.state is JobState.DONE:
            made += 1
            url = jump_url(take.guild_id, take.delivery.channel_id, take.delivery.message_id)
            parts.append(_("[take {number}]({url})").format(number=number, url=url))
        elif take.state in LIVE:
            parts.append(_("take {number}: painting…").format(number=number))
        else:  # the outcome was written in the requester's language when the take ended
            failed.setdefault(take.outcome or "", []).append(number)
    for reason, numbers in failed.items():
        told = ngettext("take {numbers}: {reason}", "takes {numbers}: {reason}", len(numbers))
        parts.append(told.format(numbers=join(numbers), reason=reason))
    summary = _("🎲 {made} of {total} variations of {link}: {takes}").format(
        made=made,
        total=spec.takes or len(takes),
        link=_picture_link(spec.origin_url),
        takes=" · ".join(parts),
    )
    return clip(summary, MESSAGE_LIMIT)


def refusal_line(refused: dict[str, list[str]]) -> str:
    """Why some takes of a variations press were not started (each reason once)."""
    return " · ".join(
        ngettext(
            "Take {numbers} not started: {reason}",
            "Takes {numbers} not started: {reason}",
            len(takes),
        ).format(numbers=join(takes), reason=reason)
        for reason, takes in refused.items()
    )


# --- the line (/queue) -----------------------------------------------------------------------

QUEUE_SHOWN: Final = 10  # entries listed (each of yours waiting gets a button: 2 rows at most)
NOTHING_OF_YOURS: Final = N_("You have no pictures waiting or being made here.")
NOTHING_HERE: Final = N_("No pictures are waiting or being made in this server.")
_KINDS: Final = {
    JobKind.REROLL: N_("reroll"),
    JobKind.REFINE: N_("refinement"),
    JobKind.PROMPT: N_("edited prompt"),
    JobKind.VARIATION: N_("variation"),
}


def cancelled_line(job_id: int) -> str:
    """What a ❌ Cancel pressed in /queue's list answers."""
    return _("❌ Cancelled #{number} — nothing was painted or charged.").format(number=job_id)


def queue_state(entry: QueueEntry) -> str:
    """Where one job is: `⏳ In line — position 2 · starts in about 40 s`, `🎨 Being made…`."""
    if not entry.waiting:
        started = entry.started_at
        if started is None:
            return _("🎨 Being made")
        when = discord.utils.format_dt(started, "R")
        return _("🎨 Being made, started {when}").format(when=when)
    if entry.position is None:
        return _("⏳ In line — starts soon")
    return _("⏳ In line — {place}").format(place=place_text(entry.position, entry.eta_seconds))


def queue_line(entry: QueueEntry, *, everyone: bool) -> str:
    """One job of the line: its number, who asked (in the server's line), where it is, and
    what was asked for (mentions in an embed never ping)."""
    who = f" <@{entry.user_id}>" if everyone else ""
    kind = _KINDS.get(entry.kind)
    what = discord.utils.escape_markdown(entry.description) + (f" ({_(kind)})" if kind else "")
    return f"**#{entry.job_id}**{who} · {queue_state(entry)}\n{what}"


def queue_embed(entries: list[QueueEntry], *, everyone: bool) -> discord.Embed:
    """The line, the first `QUEUE_SHOWN` entries: a person's own, or (`everyone`) the
    whole server's with who asked."""
    lines = [queue_line(entry, everyone=everyone) for entry in entries[:QUEUE_SHOWN]]
    more = len(entries) - QUEUE_SHOWN
    if more > 0:
        lines.append(ngettext("…and {count} more.", "…and {count} more.", more).format(count=more))
    waiting = sum(entry.waiting for entry in entries)
    title = _("Pictures on the way in this server") if everyone else _("Your pictures on the way")
    embed = discord.Embed(
        title=title,
        description=clip("\n".join(lines), DESCRIPTION_LIMIT),
        colour=EMBED_COLOUR,
    )
    footer = _("{made} being made · {waiting} waiting")
    embed.set_footer(text=footer.format(made=len(entries) - waiting, waiting=waiting))
    return embed
