"""Command line: `python -m bot [run|imagine|check|sync|migrate]` (also installed as `picasso`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, load_settings
from bot.logs import setup_logging

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    from bot.models import Quality, Size, Style

    parser = argparse.ArgumentParser(prog="picasso", description="Picasso, the /imagine bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (default)")
    imagine = commands.add_parser("imagine", help="make one picture without Discord")
    imagine.add_argument("description", help="what the picture should show")
    imagine.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    imagine.add_argument("--size", choices=[s.label for s in Size], default="square")
    imagine.add_argument("--quality", choices=[q.value for q in Quality], default="auto")
    imagine.add_argument("--style", choices=[s.label for s in Style], default="none")
    imagine.add_argument("--no-expand", action="store_true", help="paint the words as written")
    commands.add_parser("check", help="check settings, the OpenAI endpoint and the Discord login")
    commands.add_parser("sync", help="register slash commands (globally, or to DEV_GUILD_ID)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings(need_discord=command not in ("imagine", "migrate"))
    except ConfigError as error:
        print(f"picasso: configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging(settings)
    from bot import cli

    runners = {
        "run": cli.run,
        "imagine": cli.imagine,
        "check": cli.check,
        "sync": cli.sync,
        "migrate": cli.migrate,
    }
    try:
        return asyncio.run(runners[command](settings, args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
