"""How /history looks: a page of someone's pictures, or the chain one picture came from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import discord

from bot.formatting import clip
from bot.lineage import KIND_LABELS, picture_url
from bot.models import PictureRecord
from cogs.common.render import DESCRIPTION_LIMIT, EMBED_COLOUR, FIELD_LIMIT

CHAIN_SHOWN: Final = 15  # longer chains show their start and their newest steps


def _when(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return discord.utils.format_dt(aware, "R")


def picture_line(picture: PictureRecord) -> str:
    """One picture in a listing: number, when, how, what, and a jump link."""
    what = picture.instruction or picture.description
    url = picture_url(picture)
    where = f"[jump]({url})" if url else "deleted"
    label = KIND_LABELS.get(picture.kind, picture.kind)
    return f"`#{picture.id}` {_when(picture.created_at)} · {label} · “{clip(what, 80)}” · {where}"


def page_embed(pictures: Sequence[PictureRecord], page: int) -> discord.Embed:
    """A page of someone's pictures, newest first."""
    if pictures:
        text = "\n".join(picture_line(picture) for picture in pictures)
    elif page == 0:
        text = "You haven't made any pictures here yet — try /imagine."
    else:
        text = "No older pictures."
    embed = discord.Embed(
        title="Your pictures", description=clip(text, DESCRIPTION_LIMIT), colour=EMBED_COLOUR
    )
    embed.set_footer(text=f"Page {page + 1} · newest first · /history picture:<link> for a chain")
    return embed


def chain_embed(chain: Sequence[PictureRecord]) -> discord.Embed:
    """Where a picture came from: its ancestors, oldest first, the picture itself last."""
    steps = [f"{n}. {picture_line(picture)}" for n, picture in enumerate(reversed(chain), 1)]
    if len(steps) > CHAIN_SHOWN:
        hidden = len(steps) - CHAIN_SHOWN + 1
        steps = [steps[0], f"… {hidden} more steps …", *steps[-(CHAIN_SHOWN - 2) :]]
    picture = chain[0]
    embed = discord.Embed(
        title=f"Where picture #{picture.id} came from",
        description=clip("\n".join(steps), DESCRIPTION_LIMIT),
        colour=EMBED_COLOUR,
    )
    embed.add_field(name="Prompt", value=clip(picture.prompt, FIELD_LIMIT), inline=False)
    return embed
