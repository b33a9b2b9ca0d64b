"""bot/models.py: stored forms of settings and pictures read back as the same values."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import GuildSettings, PictureRecord, Quality, Size, Style

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


def test_a_recorded_picture_gives_back_its_request() -> None:
    request = picture().request
    assert (request.description, request.size, request.quality, request.style) == (
        "a fox",
        Size.LANDSCAPE,
        Quality.HIGH,
        Style.OIL_PAINTING,
    )
    assert picture(style="retired style").request.style is Style.NONE


def test_settings_json_round_trip_ignores_unknown_keys() -> None:
    settings = GuildSettings(channel_ids=(1, 2), blocked_words=("a b",), guild_daily_usd=1.5)
    assert GuildSettings.from_json(settings.to_json()) == settings
    assert GuildSettings.from_json('{"cooldown_seconds": 4, "from_the_future": 1}') == (
        GuildSettings(cooldown_seconds=4)
    )
    assert GuildSettings.from_json(None) == GuildSettings()
