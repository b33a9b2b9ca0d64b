"""The rig for cogs/pictures/publisher.py's tests: a real discord.py client logged in to the
fake Discord (REST only, no gateway), the few parts of the bot the publisher reads, people's
interactions already answered with a "thinking…", and jobs stored in a real SQLite store."""

from __future__ import annotations

import asyncio
import io
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import discord
from PIL import Image

from bot.app import prepare_discord
from bot.config import Secret
from bot.errors import PicassoError
from bot.imaging.pipeline import ImageResult
from bot.imaging.pricing import TokenUsage
from bot.imaging.providers import GeneratedImage
from bot.jobs.progress import Reporter
from bot.models import ImageRequest
from bot.storage.job_records import Delivery, JobKind, JobRecord, JobSpec, NewJob
from bot.storage.repository import Store
from cogs.pictures.publisher import DiscordPublisher
from tests.fakes.discord_api import FakeDiscord, FakeInteraction, Recorded
from tests.fakes.discord_rules import FLAG_EPHEMERAL, MAX_UPLOAD_BYTES
from tests.storage.records import limits, post_picture

if TYPE_CHECKING:
    from cogs.common.services import Services

GUILD, CHANNEL, AUDIT, ALICE, BOB = 5001, 5002, 5003, 7001, 7002
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BOT_TOKEN = "fake-discord-token.publisher-tests"


def png(side: int = 32, *, noisy: bool = False) -> bytes:
    """A real PNG; a noisy one hardly compresses (about 3 bytes a pixel)."""
    if noisy:
        pixels = random.Random(side).randbytes(side * side * 3)
        picture = Image.frombytes("RGB", (side, side), pixels)
    else:
        picture = Image.new("RGB", (side, side), (200, 80, 40))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def image_result(data: bytes) -> ImageResult:
    """A finished picture as the pipeline returns it."""
    return ImageResult(
        request=ImageRequest("a cat in a hat"),
        prompt="A detailed prompt about a cat.",
        expanded=True,
        note=None,
        image=GeneratedImage(data, TokenUsage(10, 0, 100), "gpt-image-2"),
        cost_micros=42_000,
    )


class StepClock:
    """The reporter's clock: time passes only while the reporter sleeps, so a "burst" is
    a burst however slow the machine is."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class _Studio:
    def now(self) -> datetime:
        return NOW

    async def audit_line_posted(self, job_id: int, message_id: int) -> bool:
        return True


class _Jobs:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def batch(self, batch: str) -> list[JobRecord]:
        return await self.store.batch_jobs(batch)


class StandInBot:
    """What the publisher reads of the bot (`Services`), delegated to a real logged-in client.

    Without a gateway the client caches no channels, so `get_channel` stands in for that
    cache with the channels the fake Discord has.
    """

    def __init__(self, client: discord.Client, fake: FakeDiscord, store: Store) -> None:
        self.client = client
        self.fake = fake
        self.studio = _Studio()
        self.jobs = _Jobs(store)
        self.get_partial_messageable = client.get_partial_messageable

    @property
    def application_id(self) -> int | None:
        return self.client.application_id

    @property
    def _connection(self) -> Any:
        return self.client._connection

    def get_channel(self, channel_id: int) -> Any:
        known = self.fake.channels.get(channel_id)
        if known is None:
            return None
        return self.client.get_partial_messageable(channel_id, guild_id=known.guild_id)


@dataclass
class Rig:
    """The fake Discord, the store and the publisher under test."""

    fake: FakeDiscord
    store: Store
    reporter: Reporter
    publisher: DiscordPublisher
    parent: int | None = None  # the picture variations vary

    async def thinking(
        self, *, public: bool, limit: int = MAX_UPLOAD_BYTES, pressed: int | None = None
    ) -> FakeInteraction:
        """Alice's interaction (a press on message `pressed`, else /imagine) that the cog
        answered with a public or private "thinking…"."""
        fake = self.fake
        data: dict[str, Any] = {"id": "1", "name": "imagine", "type": 1}
        if pressed is not None:
            data = {"custom_id": "picasso:vary:1", "component_type": 2}
        owners = {"authorizing_integration_owners": {"0": str(GUILD)}}
        inter = FakeInteraction(
            fake.snowflake(),
            "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96),
            2 if pressed is None else 3,
            data,
            owners,
            fake,
            user_id=ALICE,
            guild_id=GUILD,
            channel_id=CHANNEL,
            attachment_size_limit=limit,
            message_id=pressed,
        )
        fake.interactions[inter.id] = inter
        body = {"type": 5, "data": {"flags": 0 if public else FLAG_EPHEMERAL}}
        url = f"{fake.api_base}/interactions/{inter.id}/{inter.token}/callback"
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
            assert response.status == 204, await response.text()
        return inter

    def bot_message(self, content: str = "✏️ Refining…") -> int:
        """A message of the bot's own in the channel (a reply-to-refine's status)."""
        fake = self.fake
        made = fake.create_message(
            fake.channel(CHANNEL), author_id=fake.bot_user_id, payload={"content": content}
        )
        return int(made["id"])

    async def job(
        self,
        delivery: Delivery,
        kind: JobKind = JobKind.IMAGINE,
        *,
        batch: str | None = None,
        take: int | None = None,
        **spec: Any,
    ) -> JobRecord:
        """A job of Alice's, stored as submitted (queued); a variation's parent is a picture
        posted as message 77."""
        if take is not None and self.parent is None:
            self.parent = await post_picture(self.store, 77, NOW, user=ALICE)
        request = spec.pop("request", ImageRequest("a cat in a hat"))
        new = NewJob(
            kind=kind,
            guild_id=GUILD,
            user_id=ALICE,
            spec=JobSpec(request=request, requester_name="alice", **spec),
            delivery=delivery,
            parent_id=self.parent if take is not None else None,
            batch=batch,
            take=take,
        )
        return await self.store.submit_job(new, limits(), 1_000, NOW)

    def excuse(self, cause: str, count: int = 1) -> None:
        """Forgive the rule breaks a test provokes on purpose: `count`, each naming `cause`."""
        broken = self.fake.violations
        assert len(broken) == count and all(cause in v for v in broken), broken
        broken.clear()

    def requests(self, method: str, path_part: str) -> list[Recorded]:
        """What the fake received: `method` calls whose path contains `path_part`."""
        return [r for r in self.fake.requests if r.method == method and path_part in r.path]

    def edits(self, inter: FakeInteraction) -> list[Recorded]:
        """The PATCHes of `inter`'s original response, refused ones too."""
        return self.requests("PATCH", f"/{inter.token}/messages/@original")


def delivered_on(
    inter: FakeInteraction, *, public: bool = True, expires_in: timedelta = timedelta(minutes=10)
) -> Delivery:
    """Shown on `inter`'s original response; its token lives `expires_in` after NOW."""
    return Delivery(
        CHANNEL, token=Secret(inter.token), token_expires_at=NOW + expires_in, public=public
    )


def buttons(request: Recorded) -> list[str]:
    """The custom_ids of the buttons a message body carries."""
    rows = (request.json or {}).get("components") or []
    return [button["custom_id"] for row in rows for button in row["components"]]


@asynccontextmanager
async def opened_rig(store: Store) -> AsyncIterator[Rig]:
    """The fake Discord (one guild: a channel and an audit channel), a client logged in to it
    and a publisher over them; Discord's route base is put back afterwards."""
    base = discord.http.Route.BASE
    async with FakeDiscord() as fake:
        fake.add_user(ALICE, "alice")
        fake.add_user(BOB, "bob")
        fake.add_guild(GUILD, channel_ids=[CHANNEL, AUDIT], owner_id=ALICE, members=[BOB])
        prepare_discord(fake.api_base)
        client = discord.Client(intents=discord.Intents.none())
        clock = StepClock()
        expected = (discord.HTTPException, PicassoError)
        reporter = Reporter(interval=2.0, clock=clock, sleep=clock.sleep, expected=expected)
        try:
            await client.login(BOT_TOKEN)
            bot = cast("Services", StandInBot(client, fake, store))
            yield Rig(fake, store, reporter, DiscordPublisher(bot, reporter))
        finally:
            await reporter.close()
            await client.close()
            discord.http.Route.BASE = base
