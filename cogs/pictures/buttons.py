"""The buttons under a picture (Reroll, Refine, Variations, Prompt, Delete) and ❌ Cancel
under a waiting request. Under a set of pictures, each has its row, labelled with its number.

Each is a `DynamicItem`: its state lives in `custom_id` (and the database), so a button on
a message posted before a restart still works. A press goes straight to its handler in
`cogs.pictures.actions` (Refine: `cogs.pictures.refine`, whose form must be the first answer).

custom_id formats:
  picasso:<reroll|refine|vary|prompt|delete>:<picture id>
  picasso:cancel:<job id>
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

import discord

from bot.i18n import N_, _
from cogs.common.custom_ids import ID, PREFIX, StatefulButton
from cogs.pictures import actions, refine


class PictureAction(StrEnum):
    """What a button under a picture does."""

    REROLL = "reroll"
    REFINE = "refine"
    VARY = "vary"
    PROMPT = "prompt"
    DELETE = "delete"


# Labels are msgids, translated when a button is made (in the language of the job or press).
_LOOKS: Final = {
    PictureAction.REROLL: (N_("Reroll"), "🔁", discord.ButtonStyle.secondary),
    PictureAction.REFINE: (N_("Refine"), "✏️", discord.ButtonStyle.primary),
    PictureAction.VARY: (N_("Variations"), "🎲", discord.ButtonStyle.secondary),
    PictureAction.PROMPT: (N_("Prompt"), "📝", discord.ButtonStyle.secondary),
    PictureAction.DELETE: (N_("Delete"), "🗑️", discord.ButtonStyle.danger),
}

PICTURE_TEMPLATE: Final = re.compile(
    rf"^{PREFIX}:(?P<action>{'|'.join(a.value for a in PictureAction)}):(?P<id>{ID})$"
)
CANCEL_TEMPLATE: Final = re.compile(rf"^{PREFIX}:cancel:(?P<id>{ID})$")
MAX_BUTTONS: Final = 25  # Discord's 5 rows of 5

_PRESSES: Final = {
    PictureAction.REROLL: actions.reroll,
    PictureAction.VARY: actions.vary,
    PictureAction.PROMPT: actions.show_prompt,
    PictureAction.DELETE: actions.delete,
    PictureAction.REFINE: refine.open_form,
}


def picture_custom_id(action: PictureAction, picture_id: int) -> str:
    """The custom_id of `action`'s button under picture `picture_id`."""
    return f"{PREFIX}:{action.value}:{picture_id}"


def parse_picture_custom_id(custom_id: str) -> tuple[PictureAction, int] | None:
    """(action, picture id) from a picture button's custom_id, or None if it is not one."""
    match = PICTURE_TEMPLATE.fullmatch(custom_id)
    return (PictureAction(match["action"]), int(match["id"])) if match else None


class PictureButton(StatefulButton, template=PICTURE_TEMPLATE):
    """One of the buttons under a picture."""

    def __init__(self, action: PictureAction, picture_id: int, number: int | None = None) -> None:
        label, emoji, style = _LOOKS[action]
        super().__init__(
            discord.ui.Button(
                label=_(label) if number is None else str(number),
                emoji=emoji,
                style=style,
                custom_id=picture_custom_id(action, picture_id),
                row=None if number is None else number - 1,
            )
        )
        self.action = action
        self.picture_id = picture_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> PictureButton:
        return cls(PictureAction(match["action"]), int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await _PRESSES[self.action](interaction, self.picture_id)


class CancelButton(StatefulButton, template=CANCEL_TEMPLATE):
    """❌ Cancel under a request still waiting in line (its requester's only)."""

    def __init__(self, job_id: int, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=_("Cancel") if label is None else label,
                emoji="❌",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{PREFIX}:cancel:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> CancelButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await actions.cancel(interaction, self.job_id)


def cancel_view(job_id: int) -> discord.ui.View:
    """The ❌ Cancel button under a waiting request."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


def cancels_view(job_ids: Sequence[int]) -> discord.ui.View:
    """A ❌ Cancel button for each of these waiting jobs, labelled with its number (5 a row;
    at most 25)."""
    view = discord.ui.View(timeout=None)
    for job_id in job_ids[:MAX_BUTTONS]:
        view.add_item(CancelButton(job_id, label=_("Cancel #{number}").format(number=job_id)))
    return view


def result_view(picture_ids: Sequence[int]) -> discord.ui.View:
    """The buttons under finished pictures: one row of them under a picture alone; for a
    set, a row per picture, each button labelled with the picture's number."""
    view = discord.ui.View(timeout=None)
    several = len(picture_ids) > 1
    for number, picture_id in enumerate(picture_ids, 1):
        for action in PictureAction:
            view.add_item(PictureButton(action, picture_id, number if several else None))
    return view
