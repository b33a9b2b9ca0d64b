"""The database itself: instants stored as instants, and migrations that can run again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.checks import database_problem
from bot.errors import StorageUnavailable
from bot.models import GuildSettings
from bot.storage.database import (
    HEAD_REVISION,
    SchemaTooNew,
    is_transient,
    make_engine,
    migrate,
    schema_revision,
)
from bot.storage.repository import Store
from bot.storage.tables import GuildConfig
from tests.services import postgres_schema

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


async def test_every_postgres_connection_has_its_timeouts_and_name() -> None:
    async with postgres_schema() as (url, connect_args):
        engine = make_engine(url, connect_args=connect_args, name="picasso test 42")
        try:
            async with engine.connect() as connection:
                shown = {
                    setting: await connection.scalar(text(f"SHOW {setting}"))
                    for setting in (
                        "statement_timeout",
                        "lock_timeout",
                        "idle_in_transaction_session_timeout",
                        "application_name",
                    )
                }
                search_path = await connection.scalar(text("SHOW search_path"))
        finally:
            await engine.dispose()
    assert shown == {
        "statement_timeout": "15s",
        "lock_timeout": "5s",
        "idle_in_transaction_session_timeout": "10s",
        "application_name": "picasso test 42",
    }
    assert search_path.startswith("picasso_test_")  # the caller's settings are kept too


async def test_a_statement_past_its_timeout_is_storage_unavailable() -> None:
    """A failure that passes (here PostgreSQL cancelling a statement after its timeout) is
    one domain error, `StorageUnavailable`, whose text quotes no statement and no value."""
    async with postgres_schema() as (url, connect_args):
        engine = make_engine(url, connect_args=connect_args)
        store = Store(engine)
        try:
            with pytest.raises(StorageUnavailable) as raised:
                async with store._writing() as session:
                    await session.execute(text("SET LOCAL statement_timeout = 50"))
                    await session.execute(text("SELECT pg_sleep(1), :secret"), {"secret": "tok"})
        finally:
            await engine.dispose()
    detail = str(raised.value)  # what the log shows
    assert detail.startswith("DBAPIError: ") and "canceling statement" in detail
    assert "tok" not in detail and "SELECT" not in detail


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionResetError(104, "reset"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (ValueError("not a database failure"), False),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
    ],
)
def test_what_counts_as_a_failure_that_passes(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


async def test_a_failure_that_does_not_pass_is_not_hidden(store: Store) -> None:
    with pytest.raises(DBAPIError) as raised:
        async with store._writing() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(raised.value, StorageUnavailable)
