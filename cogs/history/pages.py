"""A /history listing, page by page, with ◀ Newer / ▶ Older buttons that survive restarts.

custom_id format: picasso:history:<user id>:<page>:<prev|next>
"""

from __future__ import annotations

import re
from typing import Final

import discord

from bot.i18n import N_, _
from cogs.common.answering import NO_MENTIONS, answering, read_in_locale_of, reply
from cogs.common.context import picasso
from cogs.common.custom_ids import ID, PREFIX, StatefulButton
from cogs.history.render import page_embed

PAGE_SIZE: Final = 8
NOT_YOURS: Final = N_("These buttons belong to someone else's /history.")
HISTORY_TEMPLATE: Final = re.compile(
    rf"^{PREFIX}:history:(?P<user>{ID}):(?P<page>[0-9]{{1,6}}):(?P<way>prev|next)$"
)


def history_custom_id(user_id: int, page: int, way: str) -> str:
    """The custom_id of a history page button leading to `page` (`way`: prev or next)."""
    return f"{PREFIX}:history:{user_id}:{page}:{way}"


def parse_history_custom_id(custom_id: str) -> tuple[int, int] | None:
    """(user id, page) from a history page button's custom_id, or None."""
    match = HISTORY_TEMPLATE.fullmatch(custom_id)
    return (int(match["user"]), int(match["page"])) if match else None


async def show_page(interaction: discord.Interaction, user_id: int, page: int) -> None:
    """Make the (deferred) answer show page `page` (0 = newest) of `user_id`'s pictures here."""
    rows = await picasso(interaction).studio.history(
        user_id, interaction.guild_id, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE
    )
    await interaction.edit_original_response(
        content=None,
        embed=page_embed(rows[:PAGE_SIZE], page),
        view=history_view(user_id, page, has_older=len(rows) > PAGE_SIZE),
        allowed_mentions=NO_MENTIONS,
    )


class HistoryPageButton(StatefulButton, template=HISTORY_TEMPLATE):
    """◀ / ▶ under a /history page (only its owner may turn it)."""

    def __init__(self, user_id: int, page: int, way: str, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=_("Newer") if way == "prev" else _("Older"),
                emoji="◀️" if way == "prev" else "▶️",
                style=discord.ButtonStyle.secondary,
                custom_id=history_custom_id(user_id, page, way),
                disabled=disabled,
            )
        )
        self.user_id = user_id
        self.page = page

    @classmethod
    def from_match(cls, match: re.Match[str]) -> HistoryPageButton:
        return cls(int(match["user"]), int(match["page"]), match["way"])

    async def callback(self, interaction: discord.Interaction) -> None:
        read_in_locale_of(interaction)
        if interaction.user.id != self.user_id:
            await reply(interaction, _(NOT_YOURS))
            return
        await interaction.response.defer()
        async with answering(interaction):
            await show_page(interaction, self.user_id, self.page)


def history_view(user_id: int, page: int, *, has_older: bool) -> discord.ui.View:
    """Newer / Older buttons for page `page` (0 = newest) of a history listing."""
    view = discord.ui.View(timeout=None)
    view.add_item(HistoryPageButton(user_id, max(0, page - 1), "prev", disabled=page == 0))
    view.add_item(HistoryPageButton(user_id, page + 1, "next", disabled=not has_older))
    return view
