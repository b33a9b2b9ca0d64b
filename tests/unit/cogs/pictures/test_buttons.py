"""cogs/pictures/buttons.py: the picture buttons' custom_ids round-trip, fit
Discord, and refuse foreign ones; /queue's Cancel buttons say which job they cancel."""

from __future__ import annotations

import pytest

from bot.models import MAX_ID
from cogs.pictures.buttons import (
    PictureAction,
    cancels_view,
    parse_picture_custom_id,
    picture_custom_id,
)


@pytest.mark.parametrize("action", list(PictureAction))
def test_picture_custom_ids_round_trip_and_fit_discord(action: PictureAction) -> None:
    custom_id = picture_custom_id(action, MAX_ID)
    assert len(custom_id) <= 100
    assert parse_picture_custom_id(custom_id) == (action, MAX_ID)


@pytest.mark.parametrize(
    "custom_id",
    ["picasso:reroll:", "picasso:explode:1", "picasso:reroll:1:extra", "other:reroll:1", "x"],
)
def test_foreign_custom_ids_are_not_ours(custom_id: str) -> None:
    assert parse_picture_custom_id(custom_id) is None


def test_queue_cancel_buttons_are_numbered_and_fit_five_rows() -> None:
    components = cancels_view(list(range(1, 31))).to_components()
    buttons = [button for row in components for button in row["components"]]
    assert len(components) == 5 and all(len(row["components"]) == 5 for row in components)
    assert [b["label"] for b in buttons[:2]] == ["Cancel #1", "Cancel #2"]
    assert [b["custom_id"] for b in buttons[-1:]] == ["picasso:cancel:25"]
