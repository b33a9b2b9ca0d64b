"""/imagine-admin: a server's limits, budgets, channels, roles and defaults (server admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.admin.commands import Admin

if TYPE_CHECKING:
    from cogs.common.services import Services


async def setup(bot: Services) -> None:
    await bot.add_cog(Admin(bot))
