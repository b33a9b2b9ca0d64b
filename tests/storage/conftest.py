"""The `store` fixture: every storage test runs on SQLite and on PostgreSQL.

SQLite gets a file in the test's tmp dir; PostgreSQL a fresh schema, dropped afterwards.
When PostgreSQL is unreachable its variants skip with the reason, unless
`REQUIRE_SERVICES=1`, which makes that a failure (see `tests/services.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import make_engine, migrate
from bot.storage.repository import Store
from tests.services import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated, empty Store on each backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'picasso.db'}")
        await migrate(engine)
        yield Store(engine)
        await engine.dispose()
        return
    async with postgres_schema() as (url, connect_args):
        engine = make_engine(url, connect_args=connect_args)
        await migrate(engine)
        try:
            yield Store(engine)
        finally:
            await engine.dispose()
