"""What the fault tests share: reading the database a test ends by, and the last word on
it: no job left live, no money left reserved."""

from __future__ import annotations

from typing import Any

import asyncpg

LIVE_SQL = "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running', 'posting')"
RESERVED_SQL = "SELECT count(*) FROM ledger WHERE state = 'reserved'"
HELD_SQL = "SELECT coalesce(sum(reserved_micros), 0) AS held FROM usage_counters"


def plain(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as asyncpg takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def query(database: str, sql: str) -> list[Any]:
    connection = await asyncpg.connect(plain(database), timeout=10)
    try:
        return list(await connection.fetch(sql, timeout=10))
    finally:
        await connection.close()


async def nothing_left_behind(database: str) -> None:
    """The test's last word: no job queued, running or posting, no ledger row reserved, no
    money held on any counter."""
    assert (await query(database, LIVE_SQL))[0]["count"] == 0, await query(
        database, "SELECT id, state, holder FROM jobs WHERE state IN ('queued','running','posting')"
    )
    assert (await query(database, RESERVED_SQL))[0]["count"] == 0
    assert (await query(database, HELD_SQL))[0]["held"] == 0
