"""Server settings in the database: round-trips, isolation, atomic changes, migrations."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.errors import PicassoError
from bot.models import GuildSettings
from bot.storage.database import migrate
from bot.storage.repository import Store
from bot.storage.tables import GuildConfig

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GUILD, OTHER = 4242, 4343


def everything_changed() -> GuildSettings:
    """Settings with every field away from its default."""
    return GuildSettings(
        user_daily_pictures=5,
        guild_daily_pictures=50,
        cooldown_seconds=30,
        user_running=1,
        user_queued=0,
        guild_daily_usd=2.5,
        guild_monthly_usd=40.0,
        user_daily_usd=0.25,
        channel_mode="allow",
        channel_ids=(11, 12),
        allow_dms=False,
        allowed_role_ids=(21,),
        exempt_role_ids=(22, 23),
        moderation=False,
        default_size="landscape",
        max_size="square",
        default_quality="low",
        max_quality="medium",
        allowed_styles=("anime", "pixel art"),
        model="gpt-image-1.5",
        expand_default=False,
        refine_mode="edit",
        remix="requester",
        style_guide="muted colours, no text",
        blocked_words=("gore", "blood bath"),
        audit_channel_id=31,
    )


def test_every_field_is_covered_by_the_round_trip_fixture() -> None:
    changed = everything_changed()
    defaults = GuildSettings()
    same = [
        f.name
        for f in dataclasses.fields(GuildSettings)
        if getattr(changed, f.name) == getattr(defaults, f.name)
    ]
    assert same == []


async def test_settings_round_trip(store: Store) -> None:
    assert await store.guild_settings(GUILD) == GuildSettings()
    await store.save_guild_settings(GUILD, everything_changed(), NOW)
    assert await store.guild_settings(GUILD) == everything_changed()


async def test_servers_and_dms_never_share_settings(store: Store) -> None:
    await store.save_guild_settings(GUILD, GuildSettings(user_daily_pictures=1), NOW)
    await store.save_guild_settings(None, GuildSettings(allow_dms=False), NOW)
    assert await store.guild_settings(OTHER) == GuildSettings()
    assert (await store.guild_settings(GUILD)).user_daily_pictures == 1
    assert (await store.guild_settings(GUILD)).allow_dms is True
    assert (await store.guild_settings(None)).allow_dms is False


def _set_to_seven(name: str) -> Callable[[GuildSettings], GuildSettings]:
    """A settings change that sets the one field `name` to 7."""
    changes: dict[str, Any] = {name: 7}
    return lambda s: dataclasses.replace(s, **changes)


async def test_simultaneous_changes_are_all_kept(store: Store) -> None:
    fields = ("user_daily_pictures", "guild_daily_pictures", "cooldown_seconds", "user_queued")
    await asyncio.gather(
        *(store.update_guild_settings(GUILD, _set_to_seven(name), NOW) for name in fields)
    )
    saved = await store.guild_settings(GUILD)
    assert [getattr(saved, name) for name in fields] == [7, 7, 7, 7]


async def test_a_change_that_raises_changes_nothing(store: Store) -> None:
    await store.save_guild_settings(GUILD, GuildSettings(cooldown_seconds=5), NOW)

    def bad(settings: GuildSettings) -> GuildSettings:
        raise PicassoError("no")

    with pytest.raises(PicassoError):
        await store.update_guild_settings(GUILD, bad, NOW)
    assert (await store.guild_settings(GUILD)).cooldown_seconds == 5


async def test_times_are_stored_as_instants(store: Store) -> None:
    paris = datetime(2026, 7, 1, 14, 0, tzinfo=ZoneInfo("Europe/Paris"))
    await store.save_guild_settings(GUILD, GuildSettings(), paris)
    async with store._sessions() as session:
        stored = await session.scalar(
            select(GuildConfig.updated_at).where(GuildConfig.guild_id == GUILD)
        )
    assert stored == paris
    assert stored is not None and stored.utcoffset() is not None


async def test_migrating_again_changes_nothing(store: Store) -> None:
    await store.save_guild_settings(GUILD, GuildSettings(cooldown_seconds=9), NOW)
    await migrate(store._engine)
    assert (await store.guild_settings(GUILD)).cooldown_seconds == 9
