"""Fixtures of the unit tests that drive jobs over a real SQLite store (`jobs_rig`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.storage.repository import Store
from tests.unit.jobs_rig import opened


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated, empty Store on a SQLite file of the test's own."""
    async with opened(tmp_path / "picasso.db") as made:
        yield made


@pytest.fixture
async def downloads() -> AsyncIterator[aiohttp.ClientSession]:
    """The HTTP session a runner fetches parent pictures with (unused unless a test edits)."""
    async with aiohttp.ClientSession() as session:
        yield session
