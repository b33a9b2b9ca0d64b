"""`python -m bot migrate` on a database a newer version of Picasso migrated: one line
saying so, nothing changed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from bot.storage.database import HEAD_REVISION, make_engine, migrate, schema_revision
from tests.e2e.cli.test_cli import run_cli


async def test_a_schema_made_by_a_newer_version_is_one_line_and_left_alone(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        status, out, err = await run_cli(tmp_path, "migrate", DATABASE_URL="sqlite:///p.db")
        assert (status, out) == (1, "")
        assert err == (
            "picasso: database error: the database's schema is at 9999, newer than this "
            f"version of Picasso knows ({HEAD_REVISION}): run the newer version, or restore a "
            "backup made for this one\n"
        )
        assert await schema_revision(engine) == "9999"
    finally:
        await engine.dispose()
