"""cogs/pictures/refine.py: the form's custom_id and reading a submitted form."""

from __future__ import annotations

from bot.models import MAX_ID
from cogs.pictures.refine import modal_custom_id, parse_modal_custom_id


def test_modal_custom_ids_round_trip() -> None:
    assert len(modal_custom_id(MAX_ID)) <= 100
    assert parse_modal_custom_id(modal_custom_id(42)) == 42
    assert parse_modal_custom_id("picasso:reroll:42") is None
