"""bot/models.py: stored forms of settings and pictures read back as the same values."""

from __future__ import annotations

from bot.models import GuildSettings, Quality, Size, Style
from tests.storage.records import picture_record

ALICE, BOB = 7001, 7002


def test_a_recorded_picture_gives_back_its_request() -> None:
    request = picture_record().request
    assert (request.description, request.size, request.quality, request.style) == (
        "a fox",
        Size.LANDSCAPE,
        Quality.HIGH,
        Style.OIL_PAINTING,
    )
    assert picture_record(style="retired style").request.style is Style.NONE


def test_settings_json_round_trip_ignores_unknown_keys() -> None:
    settings = GuildSettings(channel_ids=(1, 2), blocked_words=("a b",), guild_daily_usd=1.5)
    assert GuildSettings.from_json(settings.to_json()) == settings
    assert GuildSettings.from_json('{"cooldown_seconds": 4, "from_the_future": 1}') == (
        GuildSettings(cooldown_seconds=4)
    )
    assert GuildSettings.from_json(None) == GuildSettings()
