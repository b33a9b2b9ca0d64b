"""cogs/pictures/buttons.py: the picture buttons' custom_ids round-trip, fit
Discord, and refuse foreign ones."""

from __future__ import annotations

import pytest

from bot.models import MAX_ID
from cogs.pictures.buttons import Action, parse_picture_custom_id, picture_custom_id


@pytest.mark.parametrize("action", list(Action))
def test_picture_custom_ids_round_trip_and_fit_discord(action: Action) -> None:
    custom_id = picture_custom_id(action, MAX_ID)
    assert len(custom_id) <= 100
    assert parse_picture_custom_id(custom_id) == (action, MAX_ID)


@pytest.mark.parametrize(
    "custom_id",
    ["picasso:reroll:", "picasso:explode:1", "picasso:reroll:1:extra", "other:reroll:1", "x"],
)
def test_foreign_custom_ids_are_not_ours(custom_id: str) -> None:
    assert parse_picture_custom_id(custom_id) is None
