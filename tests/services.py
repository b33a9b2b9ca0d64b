"""PostgreSQL and Redis for tests: one reachability decision, and an isolated place per test.

Tests that need PostgreSQL call `postgres_or_skip()`: it skips them with the reason when the
server does not answer, or fails them when `REQUIRE_SERVICES=1` (CI, `.ci/run`), so a
missing service can never turn a CI run green. `TEST_POSTGRES_URL` points elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_unreachable: list[str | None] = []  # the decision, made once per test session


async def _connect(database: str | None = None) -> Any:
    import asyncpg

    url = make_url(POSTGRES_URL)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=database or url.database,
        timeout=3,
    )


async def postgres_or_skip() -> None:
    """Skip (or, with REQUIRE_SERVICES=1, fail) the calling test if PostgreSQL is not there."""
    if not _unreachable:
        try:
            connection = await _connect()
            await connection.close()
            _unreachable.append(None)
        except Exception as error:
            _unreachable.append(f"{type(error).__name__}: {error}")
    reason = _unreachable[0]
    if reason is None:
        return
    where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
    message = f"PostgreSQL is not reachable at {where} ({reason})"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; REQUIRE_SERVICES=1 makes that a failure")
    pytest.skip(message)


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A fresh schema: yields (url, connect_args putting it first on the search path)."""
    await postgres_or_skip()
    schema = f"picasso_test_{uuid.uuid4().hex[:12]}"
    connection = await _connect()
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        yield POSTGRES_URL, {"server_settings": {"search_path": schema}}
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh database (for a whole bot, which takes only a URL); yields its URL."""
    await postgres_or_skip()
    name = f"picasso_test_{uuid.uuid4().hex[:12]}"
    connection = await _connect()
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@asynccontextmanager
async def redis_database() -> AsyncIterator[str]:
    """An emptied Redis database (db 15 unless TEST_REDIS_URL says otherwise), emptied again
    afterwards; skips (or, with REQUIRE_SERVICES=1, fails) when Redis does not answer."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.flushdb()
    except Exception as error:
        await client.aclose()
        message = f"Redis is not reachable at {REDIS_URL} ({type(error).__name__}: {error})"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}; REQUIRE_SERVICES=1 makes that a failure")
        pytest.skip(message)
    try:
        yield REDIS_URL
    finally:
        await client.flushdb()
        await client.aclose()
