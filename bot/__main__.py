"""Command line: `python -m bot [run|imagine|check|sync|migrate|usage]` (also installed as
`picasso`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Final, NamedTuple

from bot.config import ROLES, read_settings
from bot.logs import setup_logging

log = logging.getLogger(__name__)


class Needs(NamedTuple):
    """The secrets a command can't do without (every other setting has a default)."""

    discord: bool
    openai: bool


NEEDS: Final = {
    "run": Needs(discord=True, openai=True),
    "sync": Needs(discord=True, openai=False),
    "imagine": Needs(discord=False, openai=True),
    "migrate": Needs(discord=False, openai=False),
    "usage": Needs(discord=False, openai=False),
}


def _version() -> str:
    try:
        return version("picasso-bot")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def _parser() -> argparse.ArgumentParser:
    from bot.models import Quality, Size, Style

    parser = argparse.ArgumentParser(prog="picasso", description="Picasso, the /imagine bot.")
    parser.add_argument("--version", action="version", version=f"picasso {_version()}")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run the bot (default)")
    run.add_argument(
        "--role",
        choices=ROLES,
        help="all (default, one process), gateway (Discord, admits) or worker (paints); "
        "overrides ROLE",
    )
    imagine = commands.add_parser("imagine", help="make one picture without Discord")
    imagine.add_argument("description", help="what the picture should show")
    imagine.add_argument(
        "-o", "--output", type=Path, required=True, help="file to write: .png, .jpg or .webp"
    )
    imagine.add_argument("--size", choices=[s.label for s in Size], default="square")
    imagine.add_argument("--quality", choices=[q.value for q in Quality], default="auto")
    imagine.add_argument("--style", choices=[s.label for s in Style], default="none")
    imagine.add_argument("--no-expand", action="store_true", help="paint the words as written")
    check = commands.add_parser(
        "check", help="check settings, the OpenAI endpoint and models, the database, Discord"
    )
    check.add_argument(
        "--offline",
        action="store_true",
        help="only what needs no network: settings, the database, the catalogs, the font",
    )
    commands.add_parser("sync", help="register slash commands (globally, or to DEV_GUILD_ID)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    usage = commands.add_parser("usage", help="the whole bot's spend today and this month")
    usage.add_argument(
        "--chart", type=Path, metavar="PATH", help="also draw the last 30 days as a PNG here"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    command = args.command or "run"
    if command == "check":
        return _check(offline=args.offline)
    needs = NEEDS[command]
    if getattr(args, "role", None):
        os.environ["ROLE"] = args.role  # read and checked with the other settings
    settings, problems = read_settings(need_discord=needs.discord, need_openai=needs.openai)
    if problems:
        more = f" (and {len(problems) - 1} more: `python -m bot check` lists them)"
        print(
            f"picasso: configuration error: {problems[0]}{more if len(problems) > 1 else ''}",
            file=sys.stderr,
        )
        return 2
    setup_logging(settings)
    from bot import cli

    runners = {
        "run": cli.run,
        "imagine": cli.imagine,
        "sync": cli.sync,
        "migrate": cli.migrate,
        "usage": cli.usage,
    }
    try:
        return asyncio.run(runners[command](settings, args))
    except KeyboardInterrupt:
        return 130


def _check(*, offline: bool) -> int:
    """`check` reads every setting it can and reports the bad ones with everything else."""
    from bot import cli

    settings, problems = read_settings()
    setup_logging(settings)
    try:
        return asyncio.run(cli.check(settings, problems, offline=offline))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
