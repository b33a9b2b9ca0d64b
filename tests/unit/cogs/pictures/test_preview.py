"""cogs/pictures/preview.py: the preview buttons' and form's custom_ids carry whose preview
it is and the request's shape, round-trip, fit Discord, and refuse foreign ones."""

from __future__ import annotations

import pytest

from bot.models import MAX_ID, Quality, Size, Style
from cogs.pictures.preview import (
    PreviewAction,
    PreviewState,
    parse_custom_id,
    parse_modal_custom_id,
    preview_view,
)

WIDEST = PreviewState(MAX_ID, Size.LANDSCAPE, Quality.MEDIUM, Style.RENDER_3D, 4, expanded=False)


@pytest.mark.parametrize("action", list(PreviewAction))
@pytest.mark.parametrize("style", list(Style))
@pytest.mark.parametrize(("count", "expanded"), [(1, True), (4, False)])
def test_button_custom_ids_round_trip_and_fit_discord(
    action: PreviewAction, style: Style, count: int, expanded: bool
) -> None:
    state = PreviewState(MAX_ID, Size.LANDSCAPE, Quality.MEDIUM, style, count, expanded)
    custom_id = state.custom_id(action)
    assert len(custom_id) <= 100
    assert parse_custom_id(custom_id) == (action, state)


def test_a_preview_shown_before_sets_reads_as_one_expanded_picture() -> None:
    parsed = parse_custom_id("picasso:preview:paint:1:square:auto:0")
    assert parsed is not None and (parsed[1].count, parsed[1].expanded) == (1, True)


def test_the_forms_custom_id_round_trips_and_is_not_a_buttons() -> None:
    custom_id = WIDEST.modal_custom_id()
    assert len(custom_id) <= 100
    assert parse_modal_custom_id(custom_id) == WIDEST
    assert parse_custom_id(custom_id) is None


@pytest.mark.parametrize(
    "custom_id",
    [
        "picasso:preview:paint:1:square:auto",
        "picasso:preview:paint:1:square:auto:8",  # no ninth style
        "picasso:preview:explode:1:square:auto:0",
        "picasso:preview:paint:01:square:auto:0",
        "picasso:preview:paint:1:huge:auto:0",
        "picasso:preview:paint:1:square:auto:0:extra",
        "picasso:preview:paint:1:square:auto:0:1",  # a set is of 2 to 4
        "picasso:preview:paint:1:square:auto:0:w:w",
        "picasso:paint:1",
    ],
)
def test_foreign_custom_ids_are_not_ours(custom_id: str) -> None:
    assert parse_custom_id(custom_id) is None
    assert parse_modal_custom_id(custom_id) is None


def test_a_preview_has_paint_edit_and_discard() -> None:
    buttons = preview_view(WIDEST).to_components()[0]["components"]
    assert [b["label"] for b in buttons] == ["Paint", "Edit prompt", "Discard"]
