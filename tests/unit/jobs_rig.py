"""A job runner and service over a real SQLite store, with doubles at their edges: the
chat and image models are scripted, the Publisher records what it is told, and the
line and runner read a fake monotonic clock that only the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Secret
from bot.imaging.pipeline import Pipeline
from bot.imaging.pricing import DEFAULT_PRICES
from bot.jobs.engine import LocalEngine
from bot.jobs.local_line import LocalLine
from bot.jobs.runner import Runner
from bot.jobs.service import JobService
from bot.models import ImageRequest, Stage, Who
from bot.storage.database import make_engine, migrate
from bot.storage.job_records import Delivery, JobKind, JobRecord
from bot.storage.repository import Store
from bot.studio import Order, Studio
from tests.unit.doubles import FakeClock, RecordingPublisher, ScriptedChat, ScriptedImages

GUILD, CHANNEL, ALICE, BOB = 4242, 1, 1001, 1002
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TODAY = "2026-11-26"
TOKEN = "interaction-token-" + "x" * 40
REPLY = Delivery(CHANNEL, reply_to_id=77, message_id=78)  # a reply: no token to expire


def token_delivery(expires_in: timedelta = timedelta(minutes=15)) -> Delivery:
    """Shown on an interaction whose token expires `expires_in` after NOW."""
    return Delivery(CHANNEL, token=Secret(TOKEN), token_expires_at=NOW + expires_in, public=True)


def order(kind: JobKind = JobKind.IMAGINE, *, user: int = ALICE, **given: Any) -> Order:
    """An order for "a cat" shown on an interaction, unless `given` says otherwise (a None
    in `given` keeps the default)."""
    fields: dict[str, Any] = {"request": ImageRequest("a cat"), "delivery": token_delivery()}
    fields.update((name, value) for name, value in given.items() if value is not None)
    return Order(kind, Who(user, GUILD, CHANNEL), **fields)


@dataclass
class Rig:
    """The jobs side of the bot, minus Discord."""

    store: Store
    studio: Studio
    line: LocalLine
    runner: Runner
    service: JobService
    chat: ScriptedChat
    images: ScriptedImages
    publisher: RecordingPublisher
    clock: FakeClock

    async def admit(self, wanted: Order) -> JobRecord:
        return await self.studio.admit(wanted)

    async def state(self, job: JobRecord) -> JobRecord:
        stored = await self.store.job(job.id)
        assert stored is not None
        return stored

    async def ledger_state(self, job: JobRecord) -> str:
        entry = await self.store.ledger_entry(job.reservation.id)
        assert entry is not None
        return entry.state

    async def drained(self) -> None:
        assert await self.service.drain(timeout=5)

    def paint(self) -> None:
        """Let held image calls finish."""
        if self.images.hold is not None:
            self.images.hold.set()

    def stages(self) -> list[tuple[int, Stage]]:
        return [(job_id, status.stage) for job_id, status in self.publisher.statuses]


def make_rig(
    store: Store,
    downloads: aiohttp.ClientSession,
    *,
    concurrency: int = 1,
    chat: ScriptedChat | None = None,
    images: ScriptedImages | None = None,
    now: datetime = NOW,
) -> Rig:
    """A rig on `store` (several rigs on one database are two runs of the bot), whose
    dates are `now`."""
    chat = chat or ScriptedChat()
    images = images or ScriptedImages()
    pipeline = Pipeline(chat, images, prices=DEFAULT_PRICES)
    studio = Studio(store, pipeline, DEFAULT_PRICES, clock=lambda: now)
    clock = FakeClock()
    line = LocalLine(concurrency=concurrency, clock=clock)
    publisher = RecordingPublisher()
    runner = Runner(store, pipeline, line, publisher, downloads, now=studio.now, monotonic=clock)
    service = JobService(studio, LocalEngine(runner, store, sweep_every=3600))
    return Rig(store, studio, line, runner, service, chat, images, publisher, clock)


@asynccontextmanager
async def opened(path: Path) -> AsyncIterator[Store]:
    """A migrated Store on the SQLite file at `path`, its engine disposed afterwards."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    try:
        yield Store(engine)
    finally:
        await engine.dispose()
