"""cogs/history/pages.py: the page buttons' custom_ids."""

from __future__ import annotations

from bot.models import MAX_ID
from cogs.history.pages import history_custom_id, parse_history_custom_id


def test_history_custom_ids_round_trip() -> None:
    custom_id = history_custom_id(MAX_ID, 999_999, "next")
    assert len(custom_id) <= 100
    assert parse_history_custom_id(custom_id) == (MAX_ID, 999_999)
    assert parse_history_custom_id("picasso:history:1:2:sideways") is None
