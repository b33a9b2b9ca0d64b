"""How pictures and jobs look in Discord: the result embed, status lines, the variations
summary, the line (/queue) — text and embeds only, nothing sent from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import discord

from bot import lineage
from bot.formatting import clip, eta_text, join
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


def status_line(status: Status, *, refining: bool = False) -> str:
    """The line shown while a job is under way."""
    stage = status.stage
    if status.restarting:
        return "⏳ The bot is restarting — your picture keeps its place in line."
    if stage is Stage.QUEUED:
        place = status.place
        if place is None:
            return "⏳ In line — your picture starts soon."
        return f"⏳ In line — {place_text(place.position, place.eta_seconds)}."
    if status.preview is not None:
        return f"🎨 Painting your picture… (preview {status.preview_index + 1})"
    if stage is Stage.EXPANDING:
        if refining:
            return "🧠 Revising the prompt with your change…"
        return "🧠 Writing a detailed prompt from your words…"
    return "🎨 Painting your picture…"


def place_text(position: int, eta_seconds: float | None) -> str:
    """Where a waiting job stands: `position 3 · starts in about 40 s`."""
    eta = f" · starts in {eta_text(eta_seconds)}" if eta_seconds else ""
    return f"position {position}{eta}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a picture comes from, shown under it: how it was made and a link to its parent."""

    kind: str
    parent_url: str | None = None
    take: str | None = None  # "2 of 3" for variations


_ORIGIN_FIELDS = {
    lineage.REROLL: "Reroll of",
    lineage.REFINE: "Refined from",
    lineage.EDIT: "Edited from",
    lineage.PROMPT: "Refined from",
    lineage.VARIATION: "Variation of",
}


def _add_origin(embed: discord.Embed, result: ImageResult, origin: Origin) -> None:
    name = _ORIGIN_FIELDS.get(origin.kind)
    if name is None:
        return
    link = f"[this picture]({origin.parent_url})" if origin.parent_url else "a deleted picture"
    if origin.take:
        link += f" · take {origin.take}"
    embed.add_field(name=name, value=link, inline=False)
    if origin.kind == lineage.PROMPT:
        embed.add_field(name="What changed", value="the prompt, edited by hand", inline=False)
    elif result.change:
        embed.add_field(name="What changed", value=clip(result.change, 200), inline=False)


_FOOTERS = {
    lineage.REROLL: "The same prompt, painted again",
    lineage.REFINE: "Prompt revised by the chat model",
    lineage.EDIT: "Edited from the earlier picture, composition kept",
    lineage.PROMPT: "Your prompt, as written",
    lineage.VARIATION: "A new take on the same description",
}


def _footer(result: ImageResult, origin: Origin | None) -> str:
    if result.note:
        return result.note
    if origin is not None and origin.kind in _FOOTERS:
        return _FOOTERS[origin.kind]
    return "Prompt expanded by the chat model" if result.expanded else "Your words, as written"


def result_embed(
    result: ImageResult,
    requester: str,
    avatar_url: str | None,
    filename: str,
    origin: Origin | None = None,
) -> discord.Embed:
    """The embed shown under a finished picture (user text lives only in embeds, never pings).

    With an `origin` it links the parent picture and says what changed.
    """
    request = result.request
    embed = discord.Embed(
        title=clip(request.description, TITLE_LIMIT),
        description=clip(result.prompt, PROMPT_BUDGET),
        colour=EMBED_COLOUR,
    )
    embed.set_author(name=clip(f"Requested by {requester}", TITLE_LIMIT), icon_url=avatar_url)
    embed.add_field(name="Model", value=result.image.model, inline=True)
    embed.add_field(
        name="Size · quality",
        value=f"{request.size.name.lower()} ({request.size.value}) · {request.quality.value}",
        inline=True,
    )
    embed.add_field(name="Est. cost", value=f"${result.cost_usd:.3f}", inline=True)
    if request.style.value:
        embed.add_field(name="Style", value=request.style.label, inline=True)
    if origin is not None:
        _add_origin(embed, result, origin)
    embed.set_footer(text=clip(_footer(result, origin), FOOTER_LIMIT))
    embed.set_image(url=f"attachment://{filename}")
    return embed


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
            parts.append(f"[take {number}]({url})")
        elif take.state in LIVE:
            parts.append(f"take {number}: painting…")
        else:
            failed.setdefault(take.outcome or "", []).append(number)
    for reason, numbers in failed.items():
        parts.append(f"{'take' if len(numbers) == 1 else 'takes'} {join(numbers)}: {reason}")
    link = f"[this picture]({spec.origin_url})" if spec.origin_url else "a deleted picture"
    head = f"🎲 {made} of {spec.takes or len(takes)} variations of {link}"
    return clip(f"{head}: " + " · ".join(parts), MESSAGE_LIMIT)


def refusal_line(refused: dict[str, list[str]]) -> str:
    """Why some takes of a variations press were not started (each reason once)."""
    return " · ".join(
        f"{'Take' if len(takes) == 1 else 'Takes'} {join(takes)} not started: {reason}"
        for reason, takes in refused.items()
    )


# --- the line (/queue) -----------------------------------------------------------------------

QUEUE_SHOWN: Final = 10  # entries listed (each of yours waiting gets a button: 2 rows at most)
NOTHING_OF_YOURS: Final = "You have no pictures waiting or being made here."
NOTHING_HERE: Final = "No pictures are waiting or being made in this server."
_KINDS: Final = {
    JobKind.REROLL: "reroll",
    JobKind.REFINE: "refinement",
    JobKind.PROMPT: "edited prompt",
    JobKind.VARIATION: "variation",
}


def cancelled_line(job_id: int) -> str:
    """What a ❌ Cancel pressed in /queue's list answers."""
    return f"❌ Cancelled #{job_id} — nothing was painted or charged."


def queue_state(entry: QueueEntry) -> str:
    """Where one job is: `⏳ In line — position 2 · starts in about 40 s`, `🎨 Being made…`."""
    if not entry.waiting:
        started = entry.started_at
        since = f", started {discord.utils.format_dt(started, 'R')}" if started else ""
        return f"🎨 Being made{since}"
    if entry.position is None:
        return "⏳ In line — starts soon"
    return f"⏳ In line — {place_text(entry.position, entry.eta_seconds)}"


def queue_line(entry: QueueEntry, *, everyone: bool) -> str:
    """One job of the line: its number, who asked (in the server's line), where it is, and
    what was asked for (mentions in an embed never ping)."""
    who = f" <@{entry.user_id}>" if everyone else ""
    kind = _KINDS.get(entry.kind)
    what = discord.utils.escape_markdown(entry.description) + (f" ({kind})" if kind else "")
    return f"**#{entry.job_id}**{who} · {queue_state(entry)}\n{what}"


def queue_embed(entries: list[QueueEntry], *, everyone: bool) -> discord.Embed:
    """The line, the first `QUEUE_SHOWN` entries: a person's own, or (`everyone`) the
    whole server's with who asked."""
    lines = [queue_line(entry, everyone=everyone) for entry in entries[:QUEUE_SHOWN]]
    if len(entries) > QUEUE_SHOWN:
        lines.append(f"…and {len(entries) - QUEUE_SHOWN} more.")
    waiting = sum(entry.waiting for entry in entries)
    embed = discord.Embed(
        title="Pictures on the way in this server" if everyone else "Your pictures on the way",
        description=clip("\n".join(lines), DESCRIPTION_LIMIT),
        colour=EMBED_COLOUR,
    )
    embed.set_footer(text=f"{len(entries) - waiting} being made · {waiting} waiting")
    return embed
