"""The bot process: owns the shared clients, wires the services, loads the cogs."""

from __future__ import annotations

import logging
from typing import Any

import discord
import openai
from discord.ext import commands

from bot.config import Settings
from bot.imaging.pipeline import Pipeline
from bot.imaging.providers import OpenAIChat, OpenAIImages
from bot.jobs import SlotQueue

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.errors", "cogs.imagine")

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


def make_pipeline(settings: Settings, client: openai.AsyncOpenAI) -> Pipeline:
    """The expand→paint pipeline on `client` (chat calls get their own shorter timeout)."""
    chat_client = client.with_options(
        max_retries=2, timeout=openai.Timeout(settings.chat_timeout, connect=CONNECT_TIMEOUT)
    )
    return Pipeline(
        OpenAIChat(chat_client, settings.chat_model),
        OpenAIImages(client, settings.image_model, partial_images=settings.partial_images),
        slots=SlotQueue(settings.image_concurrency),
        prices=settings.prices,
    )


def use_discord_api(base_url: str | None) -> None:
    """Point discord.py's REST routes at `base_url` (a proxy or a test server)."""
    if base_url:
        discord.http.Route.BASE = base_url


class Picasso(commands.AutoShardedBot):
    """The Discord side of Picasso. Create it, then `start()`; `close()` frees every client."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        use_discord_api(settings.discord_api_base_url)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            # Nothing the bot says pings anyone unless a call site opts in explicitly.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.settings = settings
        self.openai: openai.AsyncOpenAI | None = None
        self._pipeline: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        """The expand→paint pipeline (available once `setup_hook` ran)."""
        if self._pipeline is None:
            raise RuntimeError("the bot has not been set up yet")
        return self._pipeline

    async def setup_hook(self) -> None:
        self.openai = make_openai(self.settings)
        self._pipeline = make_pipeline(self.settings, self.openai)
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def on_message(self, message: discord.Message, /) -> None:
        # No prefix commands: cogs listen to messages themselves.
        return None

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
        ours = {command.name for command in self.tree.get_commands()}
        if not force:
            theirs = {command.name for command in await self.tree.fetch_commands()}
            if ours <= theirs:
                return "global commands already registered"
        synced = await self.tree.sync()
        return f"synced {len(synced)} commands globally"

    async def on_ready(self) -> None:
        log.info(
            "logged in as %s (%s) in %d guilds",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
        )

    async def start(self, token: str, *, reconnect: bool = True) -> None:
        await self.login(token)
        log.info(await self.sync_commands())
        await self.connect(reconnect=reconnect)

    async def close(self) -> None:
        await super().close()
        if self.openai is not None:
            await self.openai.close()
