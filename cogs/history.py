"""/history: your recent pictures (paged), or the chain a picture came from.

Also a message context menu, "Picture history", for the chain behind a picture.
Everything here is ephemeral: it is for the person asking.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import PicassoError
from bot.formatting import clip
from bot.lineage import KIND_LABELS, parse_picture_ref, picture_url
from bot.models import PictureRecord
from cogs.components import HistoryPageButton, history_view
from cogs.errors import NO_MENTIONS, reply, user_message
from cogs.render import EMBED_COLOUR

if TYPE_CHECKING:
    from bot.app import Picasso

log = logging.getLogger(__name__)

PAGE_SIZE: Final = 8
CHAIN_SHOWN: Final = 15  # longer chains show their start and their newest steps
NOT_FOUND: Final = "I can't find that picture here — give its message link or its id."
NOT_A_PICTURE: Final = "That message isn't one of my pictures."


def _when(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone
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
    embed = discord.Embed(title="Your pictures", description=clip(text, 4096), colour=EMBED_COLOUR)
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
        description=clip("\n".join(steps), 4096),
        colour=EMBED_COLOUR,
    )
    embed.add_field(name="Prompt", value=clip(picture.prompt, 1024), inline=False)
    return embed


class History(commands.Cog):
    """/history and the "Picture history" context menu."""

    def __init__(self, bot: Picasso) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Picture history", callback=self.chain_menu)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)
        self.bot.add_dynamic_items(HistoryPageButton)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self.bot.remove_dynamic_items(HistoryPageButton)

    @app_commands.command(
        name="history", description="Your recent pictures, or the chain one picture came from"
    )
    @app_commands.describe(picture="A picture's message link or id: show the chain it came from")
    async def history(
        self,
        interaction: discord.Interaction,
        picture: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if picture is None:
            await self._show_page(interaction, interaction.user.id, 0)
            return
        ref = parse_picture_ref(picture)
        found = await self._find(ref.kind, ref.id) if ref else None
        if found is None or found.guild_id != interaction.guild_id:
            raise PicassoError(NOT_FOUND)
        await self._show_chain(interaction, found)

    async def chain_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The context menu: the chain behind the message's picture."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await self.bot.studio.store.picture_by_message(message.id)
        if found is None:
            raise PicassoError(NOT_A_PICTURE)
        await self._show_chain(interaction, found)

    async def on_history_page(
        self, interaction: discord.Interaction, user_id: int, page: int
    ) -> None:
        """Newer/Older was pressed on a /history listing."""
        if interaction.user.id != user_id:
            await reply(interaction, "These buttons belong to someone else's /history.")
            return
        await interaction.response.defer()
        try:
            await self._show_page(interaction, user_id, page)
        except Exception as error:
            await reply(interaction, user_message(error))

    async def _find(self, kind: str, number: int) -> PictureRecord | None:
        store = self.bot.studio.store
        found = await store.picture_by_message(number)
        if found is None and kind == "number":
            found = await store.picture(number)
        return found

    async def _show_page(self, interaction: discord.Interaction, user_id: int, page: int) -> None:
        rows = await self.bot.studio.store.history(
            user_id, interaction.guild_id, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE
        )
        await interaction.edit_original_response(
            content=None,
            embed=page_embed(rows[:PAGE_SIZE], page),
            view=history_view(user_id, page, has_older=len(rows) > PAGE_SIZE),
            allowed_mentions=NO_MENTIONS,
        )

    async def _show_chain(self, interaction: discord.Interaction, picture: PictureRecord) -> None:
        chain = await self.bot.studio.store.ancestry(picture.id)
        await interaction.edit_original_response(
            content=None, embed=chain_embed(chain), allowed_mentions=NO_MENTIONS
        )


async def setup(bot: Picasso) -> None:
    await bot.add_cog(History(bot))
