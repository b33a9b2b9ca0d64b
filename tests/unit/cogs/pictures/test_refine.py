"""cogs/pictures/refine.py: the form's custom_id and reading a submitted form."""

from __future__ import annotations

from bot.models import MAX_ID
from cogs.pictures.refine import modal_custom_id, modal_values, parse_modal_custom_id


def test_modal_custom_ids_round_trip() -> None:
    assert len(modal_custom_id(MAX_ID)) <= 100
    assert parse_modal_custom_id(modal_custom_id(42)) == 42
    assert parse_modal_custom_id("picasso:reroll:42") is None


def test_modal_values_read_rows_and_labels() -> None:
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": "prompt", "value": "a cat"}]}]
    labels = [{"type": 18, "component": {"type": 4, "custom_id": "instruction", "value": ""}}]
    assert modal_values(rows + labels) == {"prompt": "a cat", "instruction": ""}
    assert modal_values(None) == {}
