"""The async engine, SQLite tuning, and Alembic migrations applied on start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration (a test checks it against Alembic's own head). A database already
# there is not migrated again, so a running bot never loads Alembic (about 12 MB).
HEAD_REVISION = "0004"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer commits; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> AsyncEngine:
    """An engine for `url`; for SQLite the file's folder is created and WAL mode is on.

    `connect_args` go to the driver (e.g. asyncpg `server_settings`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args=connect_args or {})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args or {})


class Sessions:
    """Sessions on one engine: reads at will, each write in a transaction of its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._dialect = engine.dialect.name
        # SQLite has one writer; queueing writers here avoids "database is locked" storms.
        self._write_lock = asyncio.Lock() if self._dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed if the block succeeds, else rolled back."""
        async with self._write_lock or contextlib.nullcontext(), self._sessions.begin() as session:
            yield session

    def _insert_ignore(self, table: Any) -> Any:
        """INSERT … ON CONFLICT DO NOTHING for `table`, in this engine's dialect."""
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()


MIGRATING = 0x7069636173736F2D  # the advisory lock migrations hold on PostgreSQL


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None: not migrated yet)."""
    async with engine.connect() as connection:
        try:
            return await connection.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return None  # no alembic_version table yet


class SchemaTooNew(Exception):
    """The database was migrated by a newer version of Picasso than this one."""

    def __init__(self, found: str) -> None:
        super().__init__(
            f"the database's schema is at {found}, newer than this version of Picasso knows "
            f"({HEAD_REVISION}): run the newer version, or restore a backup made for this one"
        )


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic), inside one transaction; raises
    `SchemaTooNew` (and changes nothing) for a schema a newer version made."""
    found = await schema_revision(engine)
    if revision == "head" and found == HEAD_REVISION:
        log.info("database schema is at %s", HEAD_REVISION)
        return
    if found is not None and found > HEAD_REVISION:  # revisions are numbered 0001, 0002, …
        raise SchemaTooNew(found)
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Processes starting together (a gateway, its workers) migrate one at a time:
            # the lock is held to the end of the transaction; the next finds nothing to do.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATING})
        await connection.run_sync(_upgrade, revision)
    log.info("database schema is at %s", revision)
