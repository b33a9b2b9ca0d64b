"""The async engine, SQLite tuning, and Alembic migrations applied on start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.errors import StorageUnavailable

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration (a test checks it against Alembic's own head). A database already
# there is not migrated again, so a running bot never loads Alembic (about 12 MB).
HEAD_REVISION = "0007"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer commits; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Every statement has a bound (PostgreSQL): the server cancels a statement after
# STATEMENT_TIMEOUT and a wait for a lock (an advisory lock included) after LOCK_TIMEOUT, and
# ends a session left idle inside a transaction (a frozen process holding a lock) after
# IDLE_IN_TRANSACTION; the driver gives up on an answer after COMMAND_TIMEOUT and on a new
# connection after CONNECT_TIMEOUT; a request for a pooled connection waits POOL_TIMEOUT.
# Set once per connection, not per transaction, so they cost no round trip.
STATEMENT_TIMEOUT_MS = 15_000
LOCK_TIMEOUT_MS = 5_000
IDLE_IN_TRANSACTION_MS = 10_000
COMMAND_TIMEOUT = 20.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 10.0
# PostgreSQL's codes for failures that pass: serialization, deadlock, cancelled by a
# timeout, lock not available, the server shutting down or starting, too many connections,
# a session ended for idling in a transaction; and every connection exception (class 08).
TRANSIENT_CODES = frozenset(
    {"40001", "40P01", "57014", "55P03", "57P01", "57P02", "57P03", "53300", "25P03"}
)


def postgres_settings(name: str = "picasso") -> dict[str, Any]:
    """asyncpg's connection arguments: the timeouts above, and the connection's name."""
    return {
        "command_timeout": COMMAND_TIMEOUT,
        "timeout": CONNECT_TIMEOUT,
        "server_settings": {
            "application_name": name[:63],
            "statement_timeout": str(STATEMENT_TIMEOUT_MS),
            "lock_timeout": str(LOCK_TIMEOUT_MS),
            "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS),
        },
    }


def make_engine(
    url: str, *, connect_args: dict[str, Any] | None = None, name: str = "picasso"
) -> AsyncEngine:
    """An engine for `url`; for SQLite the file's folder is created and WAL mode is on; for
    PostgreSQL every statement, lock wait and connection has a timeout, and each connection
    is named `name` (`application_name`).

    `connect_args` go to the driver (e.g. asyncpg `server_settings`, merged with ours).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=True, connect_args=connect_args or {})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    given = dict(connect_args or {})
    settings = postgres_settings(name)
    settings["server_settings"] |= given.pop("server_settings", {})
    return create_async_engine(
        url,
        hide_parameters=True,  # errors never quote values (tokens, people's words)
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT,
        connect_args=settings | given,
    )


def is_transient(error: BaseException) -> bool:
    """Whether a database failure may pass if tried again: a connection lost or refused,
    a timeout, a serialization failure or deadlock, a busy SQLite file."""
    if isinstance(error, (OSError, TimeoutError, PoolTimeout, DisconnectionError)):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code is not None:
        return code in TRANSIENT_CODES or str(code).startswith("08")
    cause = getattr(original, "__cause__", None)
    if isinstance(cause, (OSError, TimeoutError)) or type(cause).__name__.startswith("Connection"):
        return True
    return "database is locked" in str(original) or "connection" in type(original).__name__.lower()


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
        """A session in one transaction: committed if the block succeeds, else rolled back.
        A failure that may pass raises `StorageUnavailable` (the cause chained)."""
        with _unavailable_when_transient():
            async with (
                self._write_lock or contextlib.nullcontext(),
                self._sessions.begin() as session,
            ):
                yield session

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; a failure that may pass raises `StorageUnavailable`."""
        with _unavailable_when_transient():
            async with self._sessions() as session:
                yield session

    def _insert_ignore(self, table: Any) -> Any:
        """INSERT … ON CONFLICT DO NOTHING for `table`, in this engine's dialect."""
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()


@contextlib.contextmanager
def _unavailable_when_transient() -> Iterator[None]:
    try:
        yield
    except StorageUnavailable:
        raise
    except Exception as error:
        if is_transient(error):
            # The driver's own words only: SQLAlchemy's text would quote the statement.
            said = error.orig if isinstance(error, DBAPIError) else error
            first = (str(said).strip().splitlines() or [""])[0]
            raise StorageUnavailable(detail=f"{type(error).__name__}: {first}") from error
        raise


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
