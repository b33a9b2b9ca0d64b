"""/history and the "Picture history" message menu: a person's pictures, and where one came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.history.commands import History
from cogs.history.pages import HistoryPageButton

if TYPE_CHECKING:
    from cogs.common.services import Services


async def setup(bot: Services) -> None:
    bot.add_dynamic_items(HistoryPageButton)
    await bot.add_cog(History(bot))


async def teardown(bot: Services) -> None:
    bot.remove_dynamic_items(HistoryPageButton)
