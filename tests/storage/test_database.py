"""The database itself: instants stored as instants, and migrations that can run again."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.models import GuildSettings
from bot.storage.database import migrate
from bot.storage.repository import Store
from bot.storage.tables import GuildConfig

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


GUILD, OTHER = 4242, 4343


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
