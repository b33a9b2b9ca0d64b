"""Slash-command choices, derived from the value types in `bot.models`, never re-spelled.

A choice shows and sends the same word people see elsewhere (`square`, `auto`, `oil painting`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, get_args

from discord import app_commands

from bot.models import (
    QUALITY_ORDER,
    ChannelMode,
    MaxSize,
    Quality,
    RefineMode,
    RemixWho,
    Size,
    Style,
)


def choices_of(values: Iterable[str]) -> list[app_commands.Choice[str]]:
    """One choice per value, named as it is."""
    return [app_commands.Choice(name=value, value=value) for value in values]


SIZES: Final = choices_of(size.label for size in Size)
QUALITIES: Final = choices_of(quality.value for quality in Quality)
STYLES: Final = choices_of(style.label for style in Style)
QUALITY_CEILINGS: Final = choices_of(quality.value for quality in QUALITY_ORDER)
MAX_SIZES: Final = choices_of(get_args(MaxSize))
REFINE_MODES: Final = choices_of(get_args(RefineMode))
REMIX_WHO: Final = choices_of(get_args(RemixWho))
CHANNEL_MODES: Final = choices_of(get_args(ChannelMode))


def chosen(choice: app_commands.Choice[str] | None) -> str | None:
    """The value picked, or None when the option was left out."""
    return choice.value if choice is not None else None


def chosen_size(choice: app_commands.Choice[str] | None) -> Size | None:
    """The size picked (one of SIZES), or None when the option was left out."""
    return Size.from_label(choice.value) if choice is not None else None


def chosen_quality(choice: app_commands.Choice[str] | None) -> Quality | None:
    """The quality picked (one of QUALITIES or QUALITY_CEILINGS), or None when left out."""
    return Quality.from_value(choice.value) if choice is not None else None
