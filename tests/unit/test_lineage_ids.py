"""Pure logic of iterating on pictures: button ids, picture references, who may, replies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import PicassoError
from bot.lineage import (
    PictureRef,
    jump_url,
    may_delete,
    may_remix,
    parse_picture_ref,
)
from bot.models import GuildSettings, PictureRecord, Quality, Size, Style, Who
from cogs.history.pages import history_custom_id, parse_history_custom_id
from cogs.pictures.buttons import Action, parse_picture_custom_id, picture_custom_id
from cogs.pictures.orders import MAX_INSTRUCTION_CHARS, check_instruction
from cogs.pictures.refine import modal_custom_id, modal_values, parse_modal_custom_id
from cogs.pictures.replies import instruction_from

BIGGEST_SNOWFLAKE = 2**64 - 1
ALICE, BOB = 7001, 7002


def picture(**changes: object) -> PictureRecord:
    values: dict[str, object] = {
        "id": 12,
        "guild_id": 5001,
        "channel_id": 5002,
        "message_id": 900,
        "requester_id": ALICE,
        "parent_id": None,
        "kind": "imagine",
        "description": "a fox",
        "prompt": "A red fox at dawn.",
        "instruction": None,
        "size": "landscape",
        "quality": "high",
        "style": "oil painting",
        "model": "gpt-image-2",
        "cost_micros": 1,
        "image_url": None,
        "created_at": datetime.now(UTC),
    }
    values.update(changes)
    return PictureRecord(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", list(Action))
def test_picture_custom_ids_round_trip_and_fit_discord(action: Action) -> None:
    custom_id = picture_custom_id(action, BIGGEST_SNOWFLAKE)
    assert len(custom_id) <= 100
    assert parse_picture_custom_id(custom_id) == (action, BIGGEST_SNOWFLAKE)


@pytest.mark.parametrize(
    "custom_id",
    ["picasso:reroll:", "picasso:explode:1", "picasso:reroll:1:extra", "other:reroll:1", "x"],
)
def test_foreign_custom_ids_are_not_ours(custom_id: str) -> None:
    assert parse_picture_custom_id(custom_id) is None


def test_history_and_modal_custom_ids_round_trip() -> None:
    custom_id = history_custom_id(BIGGEST_SNOWFLAKE, 999_999, "next")
    assert len(custom_id) <= 100
    assert parse_history_custom_id(custom_id) == (BIGGEST_SNOWFLAKE, 999_999)
    assert parse_history_custom_id("picasso:history:1:2:sideways") is None
    assert parse_modal_custom_id(modal_custom_id(42)) == 42
    assert parse_modal_custom_id("picasso:reroll:42") is None


def test_modal_values_read_rows_and_labels() -> None:
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": "prompt", "value": "a cat"}]}]
    labels = [{"type": 18, "component": {"type": 4, "custom_id": "instruction", "value": ""}}]
    assert modal_values(rows + labels) == {"prompt": "a cat", "instruction": ""}
    assert modal_values(None) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://discord.com/channels/1/2/3", PictureRef("message", 3)),
        ("<https://ptb.discord.com/channels/1/2/345>", PictureRef("message", 345)),
        ("https://discordapp.com/channels/@me/2/3", PictureRef("message", 3)),
        ("#12", PictureRef("number", 12)),
        (" 1575388801965101056 ", PictureRef("number", 1575388801965101056)),
        ("https://example.com/channels/1/2/3", None),
        ("twelve", None),
        ("", None),
    ],
)
def test_picture_references(text: str, expected: PictureRef | None) -> None:
    assert parse_picture_ref(text) == expected


def test_remix_setting_decides_who_may_iterate() -> None:
    mine, theirs = Who(ALICE, 5001, 5002), Who(BOB, 5001, 5002)
    admin = Who(BOB, 5001, 5002, is_admin=True)
    strict, open_ = GuildSettings(remix="requester"), GuildSettings(remix="anyone")
    assert may_remix(open_, theirs, picture())
    assert may_remix(strict, mine, picture())
    assert not may_remix(strict, theirs, picture())
    assert may_remix(strict, admin, picture())
    assert may_delete(mine, picture()) and may_delete(admin, picture())
    assert not may_delete(theirs, picture())


def test_a_recorded_picture_gives_back_its_request() -> None:
    request = picture().request
    assert (request.description, request.size, request.quality, request.style) == (
        "a fox",
        Size.LANDSCAPE,
        Quality.HIGH,
        Style.OIL_PAINTING,
    )
    assert picture(style="retired style").request.style is Style.NONE


def test_jump_urls() -> None:
    assert jump_url(1, 2, 3) == "https://discord.com/channels/1/2/3"
    assert jump_url(None, 2, 3) == "https://discord.com/channels/@me/2/3"
    assert jump_url(1, 2, None) is None


def test_the_bot_mention_is_stripped_from_a_reply() -> None:
    assert instruction_from("<@1000> make it night", 1000) == "make it night"
    assert instruction_from("make <@!1000> it night", 1000) == "make   it night"
    assert instruction_from("<@1000>", 1000) == ""
    assert instruction_from("add <@7002> to it", 1000) == "add <@7002> to it"


def test_instructions_must_say_something_short() -> None:
    check_instruction("make it night")
    with pytest.raises(PicassoError):
        check_instruction("   ")
    with pytest.raises(PicassoError, match="too long"):
        check_instruction("x" * (MAX_INSTRUCTION_CHARS + 1))
