"""A person's own standing: /quota (later /help and /forget-me)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.account.quota import Quota

if TYPE_CHECKING:
    from bot.app import Picasso


async def setup(bot: Picasso) -> None:
    await bot.add_cog(Quota(bot))
