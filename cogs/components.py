"""Buttons that survive restarts: their state lives in `custom_id` and the database.

Each button is a `DynamicItem`: discord.py matches a clicked `custom_id` against the
template and rebuilds the item, so buttons on messages posted before a restart still work.
The work happens in the cogs that own it (`Remix`, `History`), found by name at click time;
those cogs register the item classes (`bot.add_dynamic_items`) when they load. This module
is imported, never loaded as an extension, so its classes exist once.

custom_id formats (all ≤ 100 characters):
  picasso:<reroll|refine|vary|prompt|delete>:<picture id>
  picasso:history:<user id>:<page>:<prev|next>
  picasso:refine-modal:<picture id>              (the Refine modal)
  picasso:cancel:<job id>                        (❌ Cancel under a waiting request)
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import Any, Final, Protocol, cast

import discord
from discord.ext import commands

log = logging.getLogger(__name__)

PREFIX: Final = "picasso"
_ID = r"[0-9]{1,20}"


class Action(StrEnum):
    """What a button under a picture does."""

    REROLL = "reroll"
    REFINE = "refine"
    VARY = "vary"
    PROMPT = "prompt"
    DELETE = "delete"


_LOOKS: Final = {
    Action.REROLL: ("Reroll", "🔁", discord.ButtonStyle.secondary),
    Action.REFINE: ("Refine", "✏️", discord.ButtonStyle.primary),
    Action.VARY: ("Variations", "🎲", discord.ButtonStyle.secondary),
    Action.PROMPT: ("Prompt", "📝", discord.ButtonStyle.secondary),
    Action.DELETE: ("Delete", "🗑️", discord.ButtonStyle.danger),
}

PICTURE_TEMPLATE: Final = re.compile(
    rf"^{PREFIX}:(?P<action>{'|'.join(a.value for a in Action)}):(?P<id>{_ID})$"
)
HISTORY_TEMPLATE: Final = re.compile(
    rf"^{PREFIX}:history:(?P<user>{_ID}):(?P<page>[0-9]{{1,6}}):(?P<way>prev|next)$"
)
MODAL_TEMPLATE: Final = re.compile(rf"^{PREFIX}:refine-modal:(?P<id>{_ID})$")
CANCEL_TEMPLATE: Final = re.compile(rf"^{PREFIX}:cancel:(?P<id>{_ID})$")


def picture_custom_id(action: Action, picture_id: int) -> str:
    """The custom_id of `action`'s button under picture `picture_id`."""
    return f"{PREFIX}:{action.value}:{picture_id}"


def parse_picture_custom_id(custom_id: str) -> tuple[Action, int] | None:
    """(action, picture id) from a picture button's custom_id, or None if it is not one."""
    match = PICTURE_TEMPLATE.match(custom_id)
    return (Action(match["action"]), int(match["id"])) if match else None


def history_custom_id(user_id: int, page: int, way: str) -> str:
    """The custom_id of a history page button leading to `page` (`way`: prev or next)."""
    return f"{PREFIX}:history:{user_id}:{page}:{way}"


def parse_history_custom_id(custom_id: str) -> tuple[int, int] | None:
    """(user id, page) from a history page button's custom_id, or None."""
    match = HISTORY_TEMPLATE.match(custom_id)
    return (int(match["user"]), int(match["page"])) if match else None


def modal_custom_id(picture_id: int) -> str:
    """The custom_id of the Refine modal for picture `picture_id`."""
    return f"{PREFIX}:refine-modal:{picture_id}"


def parse_modal_custom_id(custom_id: str) -> int | None:
    """The picture id from a Refine modal's custom_id, or None."""
    match = MODAL_TEMPLATE.match(custom_id)
    return int(match["id"]) if match else None


def modal_values(components: Any) -> dict[str, str]:
    """{custom_id: value} of the text inputs in a submitted modal's `components`.

    Handles both layouts Discord submits: action rows of inputs, and labels with one input.
    """
    values: dict[str, str] = {}
    for top in components or ():
        inner = top.get("components") or ([top["component"]] if top.get("component") else [])
        for component in inner:
            if component.get("custom_id") is not None and "value" in component:
                values[str(component["custom_id"])] = str(component["value"] or "")
    return values


class PictureActions(Protocol):
    """What the picture buttons call (implemented by the Remix cog)."""

    async def on_picture_button(
        self, interaction: discord.Interaction, action: Action, picture_id: int
    ) -> None:
        """Handle a press of `action` under picture `picture_id`."""
        ...


class JobCancels(Protocol):
    """What the Cancel button calls (implemented by the Remix cog)."""

    async def on_cancel(self, interaction: discord.Interaction, job_id: int) -> None:
        """Cancel job `job_id` if the person pressing asked for it."""
        ...


class HistoryPages(Protocol):
    """What the history page buttons call (implemented by the History cog)."""

    async def on_history_page(
        self, interaction: discord.Interaction, user_id: int, page: int
    ) -> None:
        """Show page `page` of `user_id`'s history."""
        ...


def _cog(interaction: discord.Interaction, name: str) -> Any:
    bot = cast("commands.Bot", interaction.client)
    cog = bot.get_cog(name)
    if cog is None:
        raise RuntimeError(f"the {name} cog is not loaded")
    return cog


class PictureButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=PICTURE_TEMPLATE):
    """One of the buttons under a picture."""

    def __init__(self, action: Action, picture_id: int) -> None:
        label, emoji, style = _LOOKS[action]
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=style,
                custom_id=picture_custom_id(action, picture_id),
            )
        )
        self.action = action
        self.picture_id = picture_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PictureButton:
        return cls(Action(match["action"]), int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        actions: PictureActions = _cog(interaction, "Remix")
        await actions.on_picture_button(interaction, self.action, self.picture_id)


class HistoryPageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=HISTORY_TEMPLATE):
    """◀ / ▶ under a /history page."""

    def __init__(self, user_id: int, page: int, way: str, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="Newer" if way == "prev" else "Older",
                emoji="◀️" if way == "prev" else "▶️",
                style=discord.ButtonStyle.secondary,
                custom_id=history_custom_id(user_id, page, way),
                disabled=disabled,
            )
        )
        self.user_id = user_id
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> HistoryPageButton:
        return cls(int(match["user"]), int(match["page"]), match["way"])

    async def callback(self, interaction: discord.Interaction) -> None:
        pages: HistoryPages = _cog(interaction, "History")
        await pages.on_history_page(interaction, self.user_id, self.page)


class CancelButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CANCEL_TEMPLATE):
    """❌ Cancel under a request still waiting in line (its requester's only)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel",
                emoji="❌",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{PREFIX}:cancel:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CancelButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        jobs: JobCancels = _cog(interaction, "Remix")
        await jobs.on_cancel(interaction, self.job_id)


def cancel_view(job_id: int) -> discord.ui.View:
    """The ❌ Cancel button under a waiting request."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


def result_view(picture_id: int) -> discord.ui.View:
    """The row of buttons under a finished picture."""
    view = discord.ui.View(timeout=None)
    for action in Action:
        view.add_item(PictureButton(action, picture_id))
    return view


def history_view(user_id: int, page: int, *, has_older: bool) -> discord.ui.View:
    """Newer / Older buttons for page `page` (0 = newest) of a history listing."""
    view = discord.ui.View(timeout=None)
    view.add_item(HistoryPageButton(user_id, max(0, page - 1), "prev", disabled=page == 0))
    view.add_item(HistoryPageButton(user_id, page + 1, "next", disabled=not has_older))
    return view
