"""How /history looks: a page of someone's pictures, or the chain one picture came from,
in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import discord

from bot.formatting import clip
from bot.i18n import _, ngettext
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
    where = _("[jump]({url})").format(url=url) if url else _("deleted")
    label = _(KIND_LABELS[picture.kind]) if picture.kind in KIND_LABELS else picture.kind
    return f"`#{picture.id}` {_when(picture.created_at)} · {label} · “{clip(what, 80)}” · {where}"


def page_embed(pictures: Sequence[PictureRecord], page: int) -> discord.Embed:
    """A page of someone's pictures, newest first."""
    if pictures:
        text = "\n".join(picture_line(picture) for picture in pictures)
    elif page == 0:
        text = _("You haven't made any pictures here yet — try /imagine.")
    else:
        text = _("No older pictures.")
    embed = discord.Embed(
        title=_("Your pictures"), description=clip(text, DESCRIPTION_LIMIT), colour=EMBED_COLOUR
    )
    footer = _("Page {page} · newest first · /history picture:<link> for a chain")
    embed.set_footer(text=footer.format(page=page + 1))
    return embed


def chain_embed(chain: Sequence[PictureRecord]) -> discord.Embed:
    """Where a picture came from: its ancestors, oldest first, the picture itself last."""
    steps = [f"{n}. {picture_line(picture)}" for n, picture in enumerate(reversed(chain), 1)]
    if len(steps) > CHAIN_SHOWN:
        hidden = len(steps) - CHAIN_SHOWN + 1
        more = ngettext("… {count} more step …", "… {count} more steps …", hidden)
        steps = [steps[0], more.format(count=hidden), *steps[-(CHAIN_SHOWN - 2) :]]
    picture = chain[0]
    embed = discord.Embed(
        title=_("Where picture #{number} came from").format(number=picture.id),
        description=clip("\n".join(steps), DESCRIPTION_LIMIT),
        colour=EMBED_COLOUR,
    )
    embed.add_field(name=_("Prompt"), value=clip(picture.prompt, FIELD_LIMIT), inline=False)
    return embed
