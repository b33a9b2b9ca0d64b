"""How results and progress look in Discord: embeds and status lines, nothing else."""

from __future__ import annotations

import discord

from bot.imaging.pipeline import ImageResult, Stage

EMBED_COLOUR = discord.Colour(0xE8A33D)
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
# Discord caps all text in a message's embeds together; leave room for the short fields.
PROMPT_BUDGET = 3500


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def stage_line(stage: Stage, position: int | None = None) -> str:
    """The status line shown while a request is under way."""
    if stage is Stage.QUEUED:
        return f"⏳ In line — position {position}. Your picture starts soon."
    if stage is Stage.EXPANDING:
        return "🧠 Writing a detailed prompt from your words…"
    return "🎨 Painting your picture…"


def result_embed(result: ImageResult, requester: discord.abc.User, filename: str) -> discord.Embed:
    """The embed shown under a finished picture (user text lives only in embeds, never pings)."""
    request = result.request
    embed = discord.Embed(
        title=clip(request.description, TITLE_LIMIT),
        description=clip(result.prompt, PROMPT_BUDGET),
        colour=EMBED_COLOUR,
    )
    embed.set_author(
        name=clip(f"Requested by {requester.display_name}", TITLE_LIMIT),
        icon_url=requester.display_avatar.url,
    )
    embed.add_field(name="Model", value=result.image.model, inline=True)
    embed.add_field(
        name="Size · quality",
        value=f"{request.size.name.lower()} ({request.size.value}) · {request.quality.value}",
        inline=True,
    )
    embed.add_field(name="Est. cost", value=f"${result.cost_usd:.3f}", inline=True)
    if request.style.value:
        embed.add_field(name="Style", value=request.style.label, inline=True)
    footer = "Prompt expanded by the chat model" if result.expanded else "Your words, as written"
    if result.note:
        footer = result.note
    embed.set_footer(text=footer)
    embed.set_image(url=f"attachment://{filename}")
    return embed
