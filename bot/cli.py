"""What each command-line subcommand does (parsing lives in `bot.__main__`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import discord

from bot import checks
from bot.app import (
    CommandSync,
    Picasso,
    make_openai,
    make_pipeline,
    open_store,
    prepare_discord,
)
from bot.charts import spend_chart
from bot.checks import DATABASE_ERRORS, Verdict, database_problem
from bot.config import ConfigError, Settings
from bot.errors import PicassoError
from bot.formatting import plural, usd, zone_name
from bot.imaging.files import encode
from bot.models import ImageRequest, Quality, Size, Stage, Style
from bot.ops.health import ServeFailed
from bot.storage.repository import DMS, Usage
from bot.studio import BotUsage, SpendCaps, SpendReport, bot_spend_report, bot_usage

log = logging.getLogger(__name__)

WHOLE_BOT: Final = "all servers and direct messages"  # the place the `usage` chart shows
# What `imagine -o` writes, by the file's extension (Pillow's format names).
FORMATS: Final = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


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
    """Run the bot until stopped; a refused login or a database that can't be opened is
    one line, not a traceback."""
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
        except DATABASE_ERRORS as error:  # opened while the bot sets up
            return _database_failed(error)
        except ServeFailed as error:  # HEALTH_PORT taken
            print(f"picasso: {error}", file=sys.stderr)
            return 1
    return 0


class TerminalProgress:
    """Prints pipeline stages to stderr."""

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        print(f"… {stage.value}", file=sys.stderr)

    async def preview(self, png: bytes, index: int) -> None:
        print(f"… preview {index + 1} ({len(png)} bytes)", file=sys.stderr)


async def imagine(settings: Settings, args: argparse.Namespace) -> int:
    """Make one picture, write it to `args.output` in the format its extension names, print
    the prompt that painted it."""
    kind = FORMATS.get(args.output.suffix.lower())
    if kind is None:
        print(
            f"picasso: cannot write {args.output.name}: name it .png, .jpg, .jpeg or .webp",
            file=sys.stderr,
        )
        return 2
    async with make_openai(settings) as client:
        try:
            result = await make_pipeline(settings, client).run(_request(args), TerminalProgress())
        except PicassoError as error:
            print(f"picasso: {error.user_message}", file=sys.stderr)
            return 1
    data = await encode(result.image.data, kind)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    if result.note:
        print(f"note: {result.note}", file=sys.stderr)
    print(result.prompt)
    print(
        f"wrote {args.output} ({len(data)} bytes, {result.image.model}, "
        f"est. ${result.cost_usd:.3f})",
        file=sys.stderr,
    )
    return 0


def _request(args: argparse.Namespace) -> ImageRequest:
    return ImageRequest(
        description=args.description,
        size=Size[args.size.upper()],
        quality=Quality(args.quality),
        style=Style.from_label(args.style) or Style.NONE,
        expand=not args.no_expand,
    )


async def check(
    settings: Settings, problems: Sequence[ConfigError], *, offline: bool = False
) -> int:
    """One ✓/✗ line for each setting problem (or one for all settings), the bot-wide caps in
    force, the endpoint, each model, the database, the catalogs and the charts' font, and
    the Discord login; with `offline`, none of those that need the network (the endpoint,
    the models, Discord). 0 if every line is ✓, else 1."""
    unusable = {problem.variable for problem in problems}
    ok = checks.report([*checks.settings_lines(problems), checks.caps_line(settings, unusable)])
    if not offline:
        ok &= checks.report(await _openai_lines(settings, unusable))
    ok &= checks.report([await _database_line(settings, unusable)])
    ok &= checks.report([*checks.catalog_lines(), checks.font_line()])
    if not offline:
        ok &= checks.report(await _discord_lines(settings, unusable))
    return 0 if ok else 1


async def _openai_lines(settings: Settings, unusable: set[str]) -> list[Verdict]:
    blocked = unusable & {"OPENAI_API_KEY", "OPENAI_BASE_URL"}
    if blocked:
        return [checks.not_checked(f"{checks.ENDPOINT} and models", blocked)]
    async with make_openai(settings) as client:
        return await checks.openai_lines(client, settings)


async def _database_line(settings: Settings, unusable: set[str]) -> Verdict:
    if "DATABASE_URL" in unusable:
        return checks.not_checked("database", {"DATABASE_URL"})
    return await checks.database_line(settings.database_url)


async def _discord_lines(settings: Settings, unusable: set[str]) -> list[Verdict]:
    """The Discord login, when there is a token to try (its settings line says otherwise)."""
    if settings.discord_token is None:
        return []
    if "DISCORD_API_BASE_URL" in unusable:
        return [checks.not_checked("Discord login", {"DISCORD_API_BASE_URL"})]
    prepare_discord(settings.discord_api_base_url)
    async with discord.Client(intents=discord.Intents.none()) as client:
        try:
            await client.login(_token(settings))
        except discord.LoginFailure:
            return [Verdict(False, "Discord login: the token was refused (check DISCORD_TOKEN)")]
        except (discord.HTTPException, OSError) as error:
            return [Verdict(False, f"Discord login: {type(error).__name__}")]
        return [Verdict(True, f"Discord login as {client.user} ({client.application_id})")]


async def sync(settings: Settings, args: argparse.Namespace) -> int:
    """Register the slash commands now (globally, or to DEV_GUILD_ID), and nothing else."""
    async with CommandSync(settings) as bot:
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
    try:
        engine, _ = await open_store(settings)
    except DATABASE_ERRORS as error:
        return _database_failed(error)
    await engine.dispose()
    print("✓ database schema is up to date")
    return 0


def _database_failed(error: Exception) -> int:
    log.debug("the database failed", exc_info=error)
    print(f"picasso: database error: {database_problem(error)}", file=sys.stderr)
    return 1


async def usage(settings: Settings, args: argparse.Namespace) -> int:
    """Print the whole bot's spend today and this month, and the servers that spent most;
    with `--chart`, also draw its last 30 days as a PNG there."""
    chart: Path | None = args.chart
    if chart is not None and chart.suffix.lower() != ".png":
        print(
            f"picasso: cannot write {chart.name}: the chart is a PNG, name it .png", file=sys.stderr
        )
        return 2
    now = datetime.now(ZoneInfo(settings.timezone))
    budget = SpendCaps.usd(settings.bot_daily_budget_usd, settings.bot_monthly_budget_usd)
    try:
        engine, store = await open_store(settings)
        try:
            report = await bot_usage(store, now, budget, top=10)
            days = await bot_spend_report(store, now, budget) if chart else None
        finally:
            await engine.dispose()
    except DATABASE_ERRORS as error:
        return _database_failed(error)
    print("\n".join(usage_lines(report)))
    if chart is not None and days is not None:
        await asyncio.to_thread(_write_chart, chart, days)
    return 0


def _write_chart(path: Path, report: SpendReport) -> None:
    """Draw the whole bot's 30 days into `path` (people named by id: the command line has
    no names); run in a thread."""
    data = spend_chart(report, place=WHOLE_BOT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path} ({len(data)} bytes, the last {len(report.days)} days)", file=sys.stderr)


def usage_lines(report: BotUsage) -> list[str]:
    """The `usage` report: today, this month, then the servers that spent most this month."""
    now, budget = report.now, report.budget
    lines = [
        f"today ({now:%Y-%m-%d}, {zone_name(now)}): {_spend(report.today, budget.daily_micros)}",
        f"this month ({now:%B %Y}): {_spend(report.month, budget.monthly_micros)}",
    ]
    if not report.top_servers:
        return [*lines, "no server has made a picture this month"]
    lines.append("top servers this month:")
    for guild_id, spent in report.top_servers:
        where = "direct messages" if guild_id == DMS else str(guild_id)
        held = f", {usd(spent.reserved_micros)} held" if spent.reserved_micros else ""
        lines.append(
            f"  {where}: {plural(spent.pictures, 'picture')}, {usd(spent.spent_micros)}{held}"
        )
    return lines


def _spend(spent: Usage, cap_micros: int | None) -> str:
    of = "" if cap_micros is None else f" of {usd(cap_micros)}"
    return (
        f"{plural(spent.pictures, 'picture')}, {usd(spent.spent_micros)} spent{of}, "
        f"{usd(spent.reserved_micros)} held for pictures under way"
    )
