"""/history and the "Picture history" message menu: a person's pictures, and where one came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.history.commands import History
from cogs.history.pages import HistoryPageButton

if TYPE_CHECKING:
    from bot.app import Picasso


async def setup(bot: Picasso) -> None:
    bot.add_dynamic_items(HistoryPageButton)
    await bot.add_cog(History(bot))


async def teardown(bot: Picasso) -> None:
    bot.remove_dynamic_items(HistoryPageButton)
