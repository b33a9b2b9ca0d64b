"""What each command-line subcommand does (parsing lives in `bot.__main__`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import discord
import openai

from bot.app import Picasso, make_openai, make_pipeline, open_store, prepare_discord
from bot.config import Settings
from bot.errors import PicassoError
from bot.models import ImageRequest, Quality, Size, Stage, Style

log = logging.getLogger(__name__)


def _token(settings: Settings) -> str:
    assert settings.discord_token is not None, "DISCORD_TOKEN is checked when settings load"
    return settings.discord_token.get()


def _stop_on_signals(bot: Picasso) -> None:
    """SIGTERM/SIGINT: take no new work, let running jobs finish (SHUTDOWN_GRACE), keep
    waiting ones queued for the next start, then exit 0."""
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []

    def stop(signum: signal.Signals) -> None:
        if closing:
            return
        log.info(
            "%s: stopping — running jobs may finish for up to %.0f s, waiting ones stay queued",
            signum.name,
            bot.settings.shutdown_grace,
        )
        closing.append(asyncio.create_task(bot.close()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows' default loop
            loop.add_signal_handler(signum, stop, signum)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the bot until stopped; a refused login is one line, not a traceback."""
    async with Picasso(settings) as bot:
        _stop_on_signals(bot)
        try:
            await bot.start(_token(settings))
        except discord.LoginFailure:
            print(
                "picasso: Discord refused DISCORD_TOKEN (reset it in the developer portal)",
                file=sys.stderr,
            )
            return 2
        except discord.PrivilegedIntentsRequired:
            print(
                "picasso: enable the Message Content intent in the developer portal, or set "
                "MESSAGE_CONTENT_INTENT=false",
                file=sys.stderr,
            )
            return 2
    return 0


class TerminalProgress:
    """Prints pipeline stages to stderr."""

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        print(f"… {stage.value}", file=sys.stderr)

    async def preview(self, png: bytes, index: int) -> None:
        print(f"… preview {index + 1} ({len(png)} bytes)", file=sys.stderr)


async def imagine(settings: Settings, args: argparse.Namespace) -> int:
    """Make one picture, write it to `args.output`, print the prompt that painted it."""
    async with make_openai(settings) as client:
        pipeline = make_pipeline(settings, client)
        try:
            request = ImageRequest(
                description=args.description,
                size=Size[args.size.upper()],
                quality=Quality(args.quality),
                style=Style.from_label(args.style) or Style.NONE,
                expand=not args.no_expand,
            )
            result = await pipeline.run(request, TerminalProgress())
        except PicassoError as error:
            print(f"picasso: {error.user_message}", file=sys.stderr)
            return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(result.image.data)
    if result.note:
        print(f"note: {result.note}", file=sys.stderr)
    print(result.prompt)
    print(
        f"wrote {args.output} ({len(result.image.data)} bytes, {result.image.model}, "
        f"est. ${result.cost_usd:.3f})",
        file=sys.stderr,
    )
    return 0


async def check(settings: Settings, args: argparse.Namespace) -> int:
    """One ✓/✗ line each for settings, the OpenAI-compatible endpoint and the Discord login."""
    print("✓ settings loaded")
    endpoint = settings.openai_base_url or "api.openai.com"
    ok = True
    async with make_openai(settings) as client:
        try:
            await client.with_options(max_retries=0, timeout=15).models.list()
            print(f"✓ OpenAI-compatible endpoint answered ({endpoint})")
        except openai.OpenAIError as error:
            ok = False
            print(
                f"✗ OpenAI-compatible endpoint: {type(error).__name__} "
                f"(status {getattr(error, 'status_code', '-')})"
            )
    prepare_discord(settings.discord_api_base_url)
    async with discord.Client(intents=discord.Intents.none()) as discord_client:
        try:
            await discord_client.login(_token(settings))
            print(f"✓ Discord login as {discord_client.user} ({discord_client.application_id})")
        except discord.LoginFailure:
            ok = False
            print("✗ Discord login: the token was refused (check DISCORD_TOKEN)")
        except (discord.HTTPException, OSError) as error:
            ok = False
            print(f"✗ Discord login: {type(error).__name__}")
    return 0 if ok else 1


async def sync(settings: Settings, args: argparse.Namespace) -> int:
    """Register the slash commands now (globally, or to DEV_GUILD_ID)."""
    async with Picasso(settings) as bot:
        await bot.login(_token(settings))
        try:
            print(await bot.sync_commands(force=True))
        except discord.HTTPException as error:
            print(
                f"picasso: Discord refused the sync ({error.status}: {error.text}); is the bot "
                "in DEV_GUILD_ID's server, invited with the applications.commands scope?",
                file=sys.stderr,
            )
            return 1
    return 0


async def migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Apply pending schema migrations (the bot also does this when it starts)."""
    engine, _ = await open_store(settings)
    await engine.dispose()
    print("✓ database schema is up to date")
    return 0
