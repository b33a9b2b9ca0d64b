"""A person and the bot: /help and the welcome on joining (help), /quota, and /forget-me."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.account.forget import Forget, ForgetButton
from cogs.account.help import Help
from cogs.account.quota import Quota

if TYPE_CHECKING:
    from cogs.common.services import Services


async def setup(bot: Services) -> None:
    bot.add_dynamic_items(ForgetButton)
    await bot.add_cog(Help(bot))
    await bot.add_cog(Quota(bot))
    await bot.add_cog(Forget(bot))


async def teardown(bot: Services) -> None:
    bot.remove_dynamic_items(ForgetButton)
