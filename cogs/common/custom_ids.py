"""What every `custom_id` of ours starts with, how an id inside one is spelled, the base of
every button whose state lives in its custom_id, and the nonces that make a job's channel
messages once.

Each feature defines its own templates next to its buttons; all stay ≤ 100 characters.
"""

from __future__ import annotations

import re
from typing import Any, Final, Self

import discord

PREFIX: Final = "picasso"
ID: Final = r"(?:0|[1-9][0-9]{0,18})"  # a snowflake or a row id: one spelling, ≤ 19 digits


class StatefulButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose state lives in its `custom_id`, so it works after a restart. A
    subclass gives its own `template=` and says how a match becomes the button
    (`from_match`); discord.py calls it for every press."""

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        """The button a matched custom_id stands for."""
        raise NotImplementedError

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls.from_match(match)


def job_nonce(purpose: str, job_id: int) -> str:
    """The nonce of the channel message a job makes for `purpose` (one letter: p the
    picture, a the audit line): the same every time that message is sent for that job, so
    Discord makes it once (`enforce_nonce`); at most 25 characters."""
    return f"{purpose}{job_id}"[:25]
