"""cogs/common/choices.py: slash-command choices offer exactly the words `bot.models` reads."""

from __future__ import annotations

from typing import get_args

import pytest
from discord import app_commands

from bot.models import (
    QUALITY_ORDER,
    ChannelMode,
    ImageRequest,
    MaxSize,
    Quality,
    RefineMode,
    RemixWho,
    Size,
    Style,
)
from cogs.common.choices import (
    CHANNEL_MODES,
    MAX_SIZES,
    QUALITIES,
    QUALITY_CEILINGS,
    REFINE_MODES,
    REMIX_WHO,
    SIZES,
    STYLES,
    choices_of,
    chosen,
    chosen_quality,
    chosen_size,
)

Choices = list[app_commands.Choice[str]]
EVERY_LIST = [
    SIZES,
    QUALITIES,
    STYLES,
    QUALITY_CEILINGS,
    MAX_SIZES,
    REFINE_MODES,
    REMIX_WHO,
    CHANNEL_MODES,
]


def offered(choices: Choices) -> list[str]:
    return [choice.value for choice in choices]


@pytest.mark.parametrize(
    ("choices", "words"),
    [
        (SIZES, ["square", "portrait", "landscape"]),
        (QUALITIES, ["auto", "low", "medium", "high"]),
        (
            STYLES,
            [
                "none",
                "photo",
                "illustration",
                "anime",
                "oil painting",
                "watercolor",
                "pixel art",
                "3D render",
            ],
        ),
        (QUALITY_CEILINGS, ["low", "medium", "high"]),
        (MAX_SIZES, ["square", "any"]),
        (REFINE_MODES, ["reimagine", "edit", "auto"]),
        (REMIX_WHO, ["requester", "anyone"]),
        (CHANNEL_MODES, ["all", "allow", "deny"]),
    ],
)
def test_the_words_people_pick(choices: Choices, words: list[str]) -> None:
    assert offered(choices) == words


@pytest.mark.parametrize(
    ("choices", "values"),
    [
        (SIZES, [size.label for size in Size]),
        (QUALITIES, [quality.value for quality in Quality]),
        (STYLES, [style.label for style in Style]),
        (QUALITY_CEILINGS, [quality.value for quality in QUALITY_ORDER]),
        (MAX_SIZES, list(get_args(MaxSize))),
        (REFINE_MODES, list(get_args(RefineMode))),
        (REMIX_WHO, list(get_args(RemixWho))),
        (CHANNEL_MODES, list(get_args(ChannelMode))),
    ],
)
def test_choices_follow_the_models(choices: Choices, values: list[str]) -> None:
    assert offered(choices) == values


@pytest.mark.parametrize("choices", EVERY_LIST)
def test_each_choice_is_named_as_it_is_sent_and_discord_accepts_the_list(
    choices: Choices,
) -> None:
    assert all(choice.name == choice.value for choice in choices)
    assert 0 < len(choices) <= 25


def test_picked_words_read_back_as_a_request() -> None:
    for size in offered(SIZES):
        for quality in offered(QUALITIES):
            for style in offered(STYLES):
                request = ImageRequest.stored("a cat", size, quality, style)
                assert (request.size.label, request.quality.value) == (size, quality)
                assert request.style.label == style


def test_choices_of_keeps_order() -> None:
    assert offered(choices_of(["b", "a"])) == ["b", "a"]


def test_chosen() -> None:
    assert chosen(None) is None
    assert chosen(app_commands.Choice(name="square", value="square")) == "square"


def test_chosen_sizes_and_qualities_are_the_models_own() -> None:
    assert [chosen_size(choice) for choice in SIZES] == list(Size)
    assert [chosen_quality(choice) for choice in QUALITIES] == list(Quality)
    assert [chosen_quality(choice) for choice in QUALITY_CEILINGS] == list(QUALITY_ORDER)
    assert chosen_size(None) is None and chosen_quality(None) is None
