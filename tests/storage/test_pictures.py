"""Pictures and their lineage in the database, and a schema that matches the tables."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from bot.storage.database import HEAD_REVISION, MIGRATIONS, make_engine, migrate, schema_revision
from bot.storage.repository import Store
from bot.storage.tables import Base
from tests.storage.records import GUILD, post_picture

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OTHER = 4343
ALICE, BOB = 1001, 1002


async def add(
    store: Store,
    message_id: int,
    *,
    user: int = ALICE,
    guild: int | None = GUILD,
    parent: int | None = None,
    minutes: int = 0,
) -> int:
    """One picture posted as `message_id`; returns its id."""
    now = NOW + timedelta(minutes=minutes)
    return await post_picture(store, message_id, now, user=user, guild=guild, parent=parent)


async def test_history_is_newest_first_per_person_and_server_and_pages(store: Store) -> None:
    mine = [await add(store, 100 + n, minutes=n) for n in range(5)]
    await add(store, 200, user=BOB, minutes=10)
    await add(store, 300, guild=OTHER, minutes=11)
    page = await store.history(ALICE, GUILD, limit=2)
    assert [p.id for p in page] == [mine[4], mine[3]]
    rest = await store.history(ALICE, GUILD, limit=10, offset=2)
    assert [p.id for p in rest] == [mine[2], mine[1], mine[0]]
    everywhere = await store.history(ALICE, None, limit=10)
    assert len(everywhere) == 6 and everywhere[0].guild_id == OTHER


async def test_ancestry_walks_back_to_the_first_picture(store: Store) -> None:
    first = await add(store, 1)
    second = await add(store, 2, parent=first)
    third = await add(store, 3, parent=second)
    await add(store, 4, parent=first)  # a branch is not part of third's chain
    assert [p.id for p in await store.ancestry(third)] == [third, second, first]
    assert [p.id for p in await store.ancestry(third, limit=2)] == [third, second]
    assert await store.ancestry(9_999) == []


async def test_a_deleted_message_keeps_its_lineage(store: Store) -> None:
    first = await add(store, 1)
    child = await add(store, 2, parent=first)
    found = await store.picture_by_message(1)
    assert found is not None and found.id == first
    await store.forget_message(1)
    assert await store.picture_by_message(1) is None
    kept = await store.picture(first)
    assert kept is not None and kept.message_id is None and kept.description == "picture 1"
    assert [p.id for p in await store.ancestry(child)] == [child, first]


def _differences(connection: Connection) -> list[Any]:
    return compare_metadata(MigrationContext.configure(connection), Base.metadata)


async def test_the_migrations_build_exactly_the_tables(store: Store) -> None:
    """A column or index added to tables.py without a migration fails here."""
    async with store._engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


def test_the_head_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


async def test_a_database_at_head_is_not_migrated_again_nor_alembic_loaded(
    tmp_path: Path,
) -> None:
    """A running bot stays lean: Alembic is loaded only when there is something to migrate."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'picasso.db'}"
    engine = make_engine(url)
    await migrate(engine)
    assert await schema_revision(engine) == HEAD_REVISION
    await engine.dispose()
    script = (
        "import asyncio, sys\n"
        "from bot.storage.database import make_engine, migrate\n"
        f"asyncio.run(migrate(make_engine({url!r})))\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(  # noqa: ASYNC221 - a fresh interpreter, a second or so
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False", done.stderr
