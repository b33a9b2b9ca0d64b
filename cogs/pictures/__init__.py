"""Pictures: /imagine, the buttons under a picture (`buttons` → `actions`, `refine`), the
Refine form, reply-to-refine (`replies`), /queue (`queue`), prompt previews (`preview`), and
the Publisher the runner shows jobs through (`publisher`, drawn by `render`). Orders for jobs
are built in `orders`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.pictures.buttons import CancelButton, PictureButton
from cogs.pictures.imagine import Imagine
from cogs.pictures.preview import PreviewButton, Previews
from cogs.pictures.queue import Queue
from cogs.pictures.refine import RefineForms
from cogs.pictures.replies import Replies

if TYPE_CHECKING:
    from cogs.common.services import Services

BUTTONS = (PictureButton, CancelButton, PreviewButton)


async def setup(bot: Services) -> None:
    bot.add_dynamic_items(*BUTTONS)
    previews = Previews(bot)
    await bot.add_cog(previews)
    await bot.add_cog(Imagine(bot, previews))
    await bot.add_cog(RefineForms(bot))
    await bot.add_cog(Replies(bot))
    await bot.add_cog(Queue(bot))


async def teardown(bot: Services) -> None:
    bot.remove_dynamic_items(*BUTTONS)
