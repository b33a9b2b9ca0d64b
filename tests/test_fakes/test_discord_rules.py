"""Discord's rules on their own (pure functions of the fake): pings, limits, command options."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.discord_interactions import build_command_options
from tests.fakes.discord_limits import check_message, check_modal
from tests.fakes.discord_rules import compute_pings


@pytest.mark.parametrize(
    ("content", "allowed", "expected"),
    [
        ("@everyone <@5> <@&7>", None, {"everyone", "user:5", "role:7"}),
        ("@everyone <@5> <@&7>", {"parse": []}, set()),
        ("@here <@!5> <@6>", {"parse": ["users"]}, {"user:5", "user:6"}),
        ("<@5> <@6> <@&7>", {"parse": [], "users": [6], "roles": ["7"]}, {"user:6", "role:7"}),
        ("@\u200beveryone", None, set()),
    ],
)
def test_compute_pings(content: str, allowed: dict[str, Any] | None, expected: set[str]) -> None:
    assert compute_pings(content, allowed, in_guild=True) == expected


def test_replies_ping_unless_allowed_mentions_say_no() -> None:
    assert compute_pings("", None, in_guild=True, replied_user_id=9) == {"user:9"}
    assert compute_pings("", {"parse": []}, in_guild=True, replied_user_id=9) == set()
    assert compute_pings("@everyone", None, in_guild=False) == set()


def test_message_limits() -> None:
    row = {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "a", "label": "x"}]}
    assert check_message({"components": [row] * 5}).flat == [
        f"components.{i}.components.0.custom_id: COMPONENT_CUSTOM_ID_DUPLICATED "
        "(Component custom id cannot be duplicated)"
        for i in range(1, 5)
    ]
    assert "components: BASE_TYPE_MAX_LENGTH" in check_message({"components": [{}] * 6}).flat[0]
    embeds = [{"description": "d" * 4000}, {"description": "d" * 2001}]
    assert any("MAX_EMBED_SIZE_EXCEEDED" in e for e in check_message({"embeds": embeds}).flat)
    assert check_message({"content": "c" * 2001}).body()["errors"]["content"]
    assert not check_message({"content": "c" * 2000, "embeds": embeds[:1]})


def test_command_option_building() -> None:
    definition = {
        "name": "image",
        "options": [
            {
                "type": 1,
                "name": "draw",
                "options": [
                    {"type": 3, "name": "prompt", "required": True},
                    {"type": 4, "name": "n", "choices": [{"name": "one", "value": 1}]},
                ],
            },
        ],
    }

    def no_resolve(otype: int, value: Any, resolved: dict[str, Any]) -> Any:
        raise AssertionError

    opts, _ = build_command_options(definition, {"prompt": "p", "n": 1}, "draw", no_resolve)
    assert opts == [
        {
            "name": "draw",
            "type": 1,
            "options": [
                {"name": "prompt", "type": 3, "value": "p"},
                {"name": "n", "type": 4, "value": 1},
            ],
        }
    ]
    with pytest.raises(ValueError, match="required"):
        build_command_options(definition, {"n": 1}, "draw", no_resolve)
    with pytest.raises(ValueError, match="choices"):
        build_command_options(definition, {"prompt": "p", "n": 2}, "draw", no_resolve)
    guessed, _ = build_command_options(
        None, {"a": True, "b": 2, "c": 0.5, "d": "s"}, None, no_resolve
    )
    assert [o["type"] for o in guessed] == [5, 4, 10, 3]


def test_component_rules() -> None:
    def row(*items: dict[str, Any]) -> dict[str, Any]:
        return {"type": 1, "components": list(items)}

    bare = {"type": 2, "style": 1, "custom_id": "b"}
    assert check_message({"components": [row(bare)]}).flat == [
        "components.0.components.0.label: BASE_TYPE_REQUIRED (A button needs a label or an emoji)"
    ]
    assert not check_message({"components": [row({**bare, "emoji": {"name": "🔁"}})]})
    text_input = {"type": 4, "custom_id": "t", "style": 1, "label": "T"}
    assert "only be used in modals" in check_message({"components": [row(text_input)]}).flat[0]
    options = [{"label": "a", "value": "a"}, {"label": "b", "value": "b"}]
    select = {"type": 3, "custom_id": "s", "options": options}
    assert not check_message({"components": [row({**select, "max_values": 2})]})
    too_many = check_message({"components": [row({**select, "max_values": 3})]}).flat
    assert too_many and "MAX_VALUES_EXCEEDS_OPTIONS" in too_many[0]
    upside_down = check_message({"components": [row({**select, "min_values": 2, "max_values": 1})]})
    assert "MIN_VALUES_EXCEEDS_MAX" in upside_down.flat[0]


def test_modal_rules() -> None:
    def text(custom_id: str, **extra: Any) -> dict[str, Any]:
        return {"type": 4, "custom_id": custom_id, "style": 1, "label": "Label", **extra}

    def modal(*rows: dict[str, Any], title: str = "Refine this picture") -> dict[str, Any]:
        return {"title": title, "custom_id": "m", "components": list(rows)}

    good = modal({"type": 1, "components": [text("a", max_length=1500, value="v" * 1500)]})
    assert not check_modal(good)
    two_in_a_row = modal({"type": 1, "components": [text("a"), text("b")]})
    assert "exactly one input" in check_modal(two_in_a_row).flat[0]
    button = {"type": 2, "style": 1, "custom_id": "x", "label": "x"}
    assert check_modal(modal({"type": 1, "components": [button]}))
    upside_down = modal({"type": 1, "components": [text("a", min_length=10, max_length=5)]})
    assert "MIN_LENGTH_EXCEEDS_MAX" in check_modal(upside_down).flat[0]
    long_label = modal({"type": 1, "components": [text("a", label="l" * 46)]})
    assert "label" in check_modal(long_label).flat[0]
    assert "title" in check_modal(modal(title="t" * 46)).flat[0]
    too_long = modal({"type": 1, "components": [text("a", value="v" * 4001)]})
    assert "value" in check_modal(too_long).flat[0]
