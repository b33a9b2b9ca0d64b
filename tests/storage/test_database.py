"""The database itself: instants stored as instants, and migrations that can run again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from bot.checks import database_problem
from bot.models import GuildSettings
from bot.storage.database import (
    HEAD_REVISION,
    SchemaTooNew,
    make_engine,
    migrate,
    schema_revision,
)
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


async def test_a_schema_made_by_a_newer_version_is_refused_in_one_line(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'newer.db'}")
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaTooNew) as refused:
            await migrate(engine)
        assert database_problem(refused.value) == (
            f"the database's schema is at 9999, newer than this version of Picasso knows "
            f"({HEAD_REVISION}): run the newer version, or restore a backup made for this one"
        )
        assert await schema_revision(engine) == "9999"  # nothing was changed
    finally:
        await engine.dispose()
