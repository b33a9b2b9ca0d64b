"""The bot process: owns the shared clients, wires the services, loads the cogs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiohttp
import discord
import openai
import yarl
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.errors import PicassoError
from bot.i18n import use_locale
from bot.imaging.pipeline import Pipeline
from bot.imaging.providers import OpenAIChat, OpenAIImages, OpenAIModerator, SafetyIds
from bot.jobs.cluster import WORKER, Cluster, ClusterEngine
from bot.jobs.engine import Engine, LocalEngine
from bot.jobs.line import Line
from bot.jobs.local_line import LocalLine
from bot.jobs.observer import UNOBSERVED
from bot.jobs.progress import Reporter
from bot.jobs.ratelimit import RateLimit
from bot.jobs.runner import Runner
from bot.jobs.service import JobService
from bot.ops import make_metrics
from bot.ops.health import HealthServer
from bot.storage.database import make_engine, migrate
from bot.storage.repository import Store
from bot.studio import Clock, SpendCaps, Studio, utc_now
from cogs import EXTENSIONS
from cogs.common.answering import read_in_locale_of, reply, user_message
from cogs.common.translator import PicassoTranslator
from cogs.pictures.publisher import DiscordPublisher

if TYPE_CHECKING:
    from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

# Connection phase stays short even when a high-quality picture may take minutes.
CONNECT_TIMEOUT = 10.0


def make_openai(settings: Settings) -> openai.AsyncOpenAI:
    """The one AsyncOpenAI client, tuned for image calls (few retries, long read timeout).

    Image requests take no idempotency key, so every retry may bill again: keep them few.
    """
    return openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get(),
        base_url=settings.openai_base_url,
        max_retries=settings.image_retries,
        timeout=openai.Timeout(settings.image_timeout, connect=CONNECT_TIMEOUT),
    )


def make_pipeline(
    settings: Settings, client: openai.AsyncOpenAI, metrics: Metrics | None = None
) -> Pipeline:
    """The expand→paint pipeline on `client` (chat calls get their own shorter timeout),
    its provider calls watched by `metrics` when given."""
    chat_client = client.with_options(
        max_retries=2, timeout=openai.Timeout(settings.chat_timeout, connect=CONNECT_TIMEOUT)
    )
    models = (
        OpenAIChat(chat_client, settings.chat_model),
        OpenAIImages(client, settings.image_model, partial_images=settings.partial_images),
        OpenAIModerator(chat_client, settings.moderation_model),
    )
    chat, images, moderator = metrics.observed(*models) if metrics else models
    safety_ids = SafetyIds.for_deployment(
        settings.safety_id_key.get() if settings.safety_id_key else None,
        settings.discord_token.get() if settings.discord_token else None,
    )
    return Pipeline(
        chat,
        images,
        prices=settings.prices,
        moderator=moderator,
        safety_ids=safety_ids,
        chat_prices=settings.chat_prices,
    )


async def open_store(settings: Settings) -> tuple[AsyncEngine, Store]:
    """The database engine with the schema migrated, and the repository on it. On
    PostgreSQL each connection names its process (`picasso <role> <pid>`), so operators and
    tests can tell in `pg_stat_activity` which process holds what."""
    engine = make_engine(settings.database_url, name=f"picasso {settings.role} {os.getpid()}")
    await migrate(engine)
    return engine, Store(engine, new_server=settings.new_server)


def _permission_bits(value: Any) -> int | None:
    """Permission bits given as an int, a digit string or a `discord.Permissions`."""
    if value is None:
        return None
    return value.value if isinstance(value, discord.Permissions) else int(value)


def command_shape(payload: Any) -> str:
    """What matters of a command's payload to its users (names, texts and their
    translations, options, choices, default permissions), so ours and Discord's copy compare
    equal unless a sync is due."""

    def shape(node: Any) -> Any:
        return {
            "name": node.get("name"),
            "names": node.get("name_localizations") or {},
            "description": node.get("description", ""),
            "descriptions": node.get("description_localizations") or {},
            "type": node.get("type", 1),
            "required": bool(node.get("required")),
            "permissions": _permission_bits(node.get("default_member_permissions")),
            "choices": sorted(
                (c["name"], str(c["value"]), sorted((c.get("name_localizations") or {}).items()))
                for c in node.get("choices") or []
            ),
            "options": [shape(option) for option in node.get("options") or []],
        }

    return json.dumps(shape(payload), sort_keys=True)


def prepare_discord(base_url: str | None) -> None:
    """Point discord.py's REST routes at `base_url` (a proxy or a test server), and spare
    operators its "voice will NOT be supported" warnings: Picasso never joins voice."""
    if base_url:
        discord.http.Route.BASE = base_url
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


class PicassoTree(app_commands.CommandTree["Picasso"]):
    """The command tree, with the one error handler for every slash command and menu."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Every command answers in the language of the person using it."""
        read_in_locale_of(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Every failed app command ends with one clear sentence (details in the log)."""
        read_in_locale_of(interaction)
        await reply(interaction, user_message(error))


def event_locale(args: tuple[Any, ...]) -> str | None:
    """Whose language an event's listeners answer in: the person interacting, else the
    server's preferred one (a message, a server joined), else None (English)."""
    first = args[0] if args else None
    if isinstance(first, discord.Interaction):
        return str(first.locale)
    guild = first if isinstance(first, discord.Guild) else getattr(first, "guild", None)
    return str(guild.preferred_locale) if isinstance(guild, discord.Guild) else None


@dataclass(frozen=True, slots=True)
class Clocks:
    """The times a bot reads, handed in so that tests can move them: the dates (days,
    months, tokens' lifetimes), the seconds of its line's deadlines and its retries, and the
    pacing of its progress edits (a clock, and a sleep on it)."""

    dates: Clock = utc_now
    seconds: Callable[[], float] = time.monotonic
    pacing: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class Picasso(commands.AutoShardedBot):
    """The Discord side of Picasso. Create it, then `start()`; `close()` frees every client."""

    def __init__(self, settings: Settings, *, clocks: Clocks = Clocks(), **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = settings.message_content_intent
        prepare_discord(settings.discord_api_base_url)
        metrics = make_metrics(settings)
        if metrics is not None:
            options["http_trace"] = metrics.discord_trace()  # counts Discord's 429s
        if settings.shard_ids is not None:  # only these shards of SHARD_COUNT
            options["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            # Nothing the bot says pings anyone unless a call site opts in explicitly.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=PicassoTree,
            shard_count=settings.shard_count,  # None: as many as Discord recommends
            **options,
        )
        self.settings = settings
        self.metrics = metrics
        self._health: HealthServer | None = None
        self._clocks = clocks
        self.openai: openai.AsyncOpenAI | None = None
        self._database: AsyncEngine | None = None
        self._studio: Studio | None = None
        self._jobs: JobService | None = None
        self._reporter: Reporter | None = None
        self._publisher: DiscordPublisher | None = None
        self._downloads: aiohttp.ClientSession | None = None
        self._cluster: Cluster | None = None  # gateway and worker roles: Redis and the queue
        self._worker: ClusterEngine | None = None  # ROLE=worker: it takes the queue's jobs
        self._identify_buckets = 1  # Discord's max_concurrency (GET /gateway/bot)

    @property
    def studio(self) -> Studio:
        """Admission, accounting and lineage (available once `setup_hook` ran)."""
        if self._studio is None:
            raise RuntimeError("the bot has not been set up yet")
        return self._studio

    @property
    def jobs(self) -> JobService:
        """Where requests become jobs (available once `setup_hook` ran)."""
        if self._jobs is None:
            raise RuntimeError("the bot has not been set up yet")
        return self._jobs

    @property
    def publisher(self) -> DiscordPublisher:
        """How jobs show themselves on Discord (available once `setup_hook` ran)."""
        if self._publisher is None:
            raise RuntimeError("the bot has not been set up yet")
        return self._publisher

    @property
    def pipeline(self) -> Pipeline:
        """The expand→paint pipeline."""
        return self.studio.pipeline

    @property
    def downloads(self) -> aiohttp.ClientSession:
        """The HTTP session for fetching pictures (e.g. a parent picture to edit)."""
        if self._downloads is None:
            raise RuntimeError("the bot has not been set up yet")
        return self._downloads

    async def setup_hook(self) -> None:
        self.openai = make_openai(self.settings)
        self._database, store = await open_store(self.settings)
        self._studio = Studio(
            store,
            make_pipeline(self.settings, self.openai, self.metrics),
            dict(self.settings.prices),
            timezone=ZoneInfo(self.settings.timezone),
            clock=self._clocks.dates,
            bot_budget=SpendCaps.usd(
                self.settings.bot_daily_budget_usd, self.settings.bot_monthly_budget_usd
            ),
        )
        self._downloads = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self._jobs = JobService(self._studio, await self._engine_for(self._studio, self._downloads))
        if self.settings.role == WORKER:
            return  # no gateway: no commands, no listeners; the queue brings the work
        await self.load_commands()

    async def load_commands(self) -> None:
        """The slash commands, menus and listeners (the cogs), in Discord's languages."""
        await self.tree.set_translator(PicassoTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def _engine_for(self, studio: Studio, downloads: aiohttp.ClientSession) -> Engine:
        """The job engine, chosen here once: jobs in this process (`ROLE=all`), or across
        gateway and worker processes sharing PostgreSQL and Redis. Both post through the
        Discord publisher."""
        settings, clocks = self.settings, self._clocks

        def runner(line: Line) -> Runner:
            # Discord's refusals of a progress edit are ordinary: one warning line each; a
            # job this process lost to another shows nothing more from here.
            self._reporter = Reporter(
                expected=(discord.HTTPException, PicassoError),
                may_send=lambda key: not isinstance(key, int) or line.holds(key),
                clock=clocks.pacing,
                sleep=clocks.sleep,
            )
            self._publisher = DiscordPublisher(self, self._reporter)
            return Runner(
                studio.store,
                studio.pipeline,
                line,
                self._publisher,
                downloads,
                now=studio.now,
                monotonic=clocks.seconds,
                observer=self.metrics or UNOBSERVED,
            )

        if settings.role == "all":
            rate = RateLimit(settings.image_rate_limit) if settings.image_rate_limit else None
            local = LocalLine(
                concurrency=settings.image_concurrency, rate=rate, clock=clocks.seconds
            )
            return LocalEngine(runner(local), studio.store, sweep_every=settings.queue_sweep)
        cluster = await Cluster.open(settings)
        shared = cluster.line(settings, studio)
        engine = ClusterEngine(
            runner(shared),
            studio.store,
            shared,
            cluster,
            sweep_every=settings.queue_sweep,
            now=studio.now,
        )
        self._cluster = cluster
        self._worker = engine if settings.role == WORKER else None
        return engine

    async def on_message(self, message: discord.Message, /) -> None:
        # No prefix commands: cogs listen to messages themselves.
        return None

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        # Each listener runs in a task started here, which keeps the language set around it.
        with use_locale(event_locale(args)):
            super().dispatch(event_name, *args, **kwargs)

    async def sync_commands(self, *, force: bool = False) -> str:
        """Register slash commands with Discord, on purpose rather than on every boot.

        With DEV_GUILD_ID they go to that guild (instant). Globally they are pushed only
        when `force` is set or Discord's list lacks one of ours, because global syncs are
        rate limited per day. Returns a line describing what happened.
        """
        guild_id = self.settings.dev_guild_id
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            return f"synced {len(synced)} commands to guild {guild_id}"
        if not force:
            ours = {command_shape(payload) for payload in await self._command_payloads()}
            theirs = {command_shape(payload) for payload in await self._registered_commands()}
            if ours == theirs:
                return "global commands already registered"
        synced = await self.tree.sync()
        return f"synced {len(synced)} commands globally"

    async def _command_payloads(self) -> list[dict[str, Any]]:
        """Our global commands as a sync sends them, translations included."""
        translator = self.tree.translator or app_commands.Translator()
        return [
            await c.get_translated_payload(self.tree, translator) for c in self.tree.get_commands()
        ]

    async def _registered_commands(self) -> list[dict[str, Any]]:
        """Discord's copy of our global commands, with every translation (which Discord
        leaves out unless asked)."""
        route = discord.http.Route(
            "GET", "/applications/{application_id}/commands", application_id=self.application_id
        )
        return await self.http.request(route, params={"with_localizations": "true"})

    async def on_ready(self) -> None:
        log.info(
            "logged in as %s (%s) in %d guilds",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
        )

    async def start(self, token: str, *, reconnect: bool = True) -> None:
        await self.login(token)
        await self._serve_health()
        await self.jobs.engine.start()  # resumes what a previous run left, then sweeps
        if self._worker is not None:
            await self._worker.work(self.settings)  # over REST only, until `close()`
            return
        log.info(await self.sync_commands())
        await self.connect(reconnect=reconnect)

    async def launch_shards(self) -> None:
        """Connect the shards to the gateway GET /gateway/bot names, SHARD_COUNT of them or
        else as many as it recommends. (Given a count, discord.py would use its built-in
        address instead, as it does for a fresh IDENTIFY after an invalidated session,
        passing by the server DISCORD_API_BASE_URL names.)"""
        if not self.is_closed():
            recommended, url, limit = await self.http.get_bot_gateway()
            self._identify_buckets = max(1, limit.get("max_concurrency", 1))
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
            if self.shard_count is None:
                self.shard_count = recommended
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Gateway processes of one bot take turns to IDENTIFY (Discord takes one per 5 s per
        bucket of `max_concurrency`, whichever process sends it); one process alone waits
        as discord.py does."""
        if self._cluster is None:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        await self._cluster.identify_turn(shard_id or 0, self._identify_buckets)

    async def _serve_health(self) -> None:
        """GET /healthz and /metrics on HEALTH_PORT, when set: up from the login on, so they
        answer 503 until the gateway is ready (raises `ServeFailed` if the port is taken)."""
        port = self.settings.health_port
        if port is None or self.metrics is None:
            return
        role, engine = self.settings.role, self.jobs.engine
        self._health = HealthServer(
            None if role == WORKER else self,  # a worker never connects to the gateway
            self.studio.store,
            engine.line,
            self.metrics,
            role=role,
            queue=engine.queue,
        )
        await self._health.start(self.settings.health_host, port)

    async def close(self) -> None:
        """Stop taking work, let running jobs finish (`SHUTDOWN_GRACE`), then disconnect;
        waiting jobs stay queued for the next start."""
        if self._jobs is not None:
            await self._jobs.stop(self.settings.shutdown_grace)  # the cluster's too
        if self._reporter is not None:
            # A last progress edit may wait out Discord's pacing: let it go before leaving.
            await self._reporter.drain(timeout=3)
        if self._health is not None:
            await self._health.stop()
        await super().close()
        if self.openai is not None:
            await self.openai.close()
        if self._downloads is not None:
            await self._downloads.close()
        if self._database is not None:
            await self._database.dispose()


class CommandSync(Picasso):
    """The bot as `python -m bot sync` needs it: its command tree (translated) and a login,
    nothing else: no database, no OpenAI client, no job engine, so no job is ever run."""

    async def setup_hook(self) -> None:
        await self.load_commands()
