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


# A document as the version that kept sizes and qualities as strings stored it, byte for byte.
STORED_BEFORE_ENUMS = (
    '{"allow_dms": true, "allowed_role_ids": [], "allowed_styles": ["anime"], '
    '"audit_channel_id": null, "blocked_words": [], "channel_ids": [], "channel_mode": "all", '
    '"cooldown_seconds": 30, "default_quality": "low", "default_size": "portrait", '
    '"exempt_role_ids": [], "expand_default": true, "guild_daily_pictures": null, '
    '"guild_daily_usd": null, "guild_monthly_usd": null, "max_count": 4, '
    '"max_quality": "medium", "max_size": "square", "model": null, "moderation": true, '
    '"preview": false, "refine_mode": "reimagine", "remix": "anyone", "style_guide": "", '
    '"user_daily_pictures": null, "user_daily_usd": null, "user_queued": 3, "user_running": 2}'
)


def test_settings_stored_by_the_previous_version_load_the_same_and_store_the_same() -> None:
    settings = GuildSettings(
        default_size=Size.PORTRAIT,
        default_quality=Quality.LOW,
        max_size="square",
        max_quality=Quality.MEDIUM,
        cooldown_seconds=30,
        allowed_styles=("anime",),
    )
    assert GuildSettings.from_json(STORED_BEFORE_ENUMS) == settings
    assert settings.to_json() == STORED_BEFORE_ENUMS  # the stored form is unchanged


def test_sizes_and_qualities_this_version_does_not_know_keep_their_defaults() -> None:
    stored = '{"default_size": "panorama", "default_quality": "ultra", "max_quality": "low"}'
    assert GuildSettings.from_json(stored) == GuildSettings(max_quality=Quality.LOW)
