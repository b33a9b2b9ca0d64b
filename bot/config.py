"""Typed settings read from the environment (and `.env`), failing fast on bad values.

Every setting is one environment variable; `.env.example` lists them all. A missing or
malformed value raises `ConfigError`, which names the variable and never the secret.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.imaging.pricing import DEFAULT_PRICES, ModelPrice
from bot.models import GuildSettings

log = logging.getLogger(__name__)

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


# The limits a server gets until its admins change them (DEFAULT_SERVER_LIMITS): a bot
# invited anywhere must not spend its operator's key without bound.
NEW_SERVER: Final = GuildSettings(guild_daily_pictures=50, user_daily_pictures=10)
# The settings DEFAULT_SERVER_LIMITS may give, and the type of each.
SERVER_LIMITS: Final[dict[str, type | tuple[type, ...]]] = {
    "user_daily_pictures": int,
    "guild_daily_pictures": int,
    "cooldown_seconds": int,
    "user_running": int,
    "user_queued": int,
    "guild_daily_usd": (int, float),
    "guild_monthly_usd": (int, float),
    "user_daily_usd": (int, float),
}


class ConfigError(Exception):
    """A setting is missing or malformed; `str()` is one line naming the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class Secret:
    """A string that never shows itself in `repr`, `str`, f-strings or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        """The real value, for the one place that needs it (a client constructor)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    discord_token: Secret | None
    openai_api_key: Secret
    openai_base_url: str | None = None
    chat_model: str = "gpt-5.4-mini"
    image_model: str = "gpt-image-2"
    moderation_model: str = "omni-moderation-latest"
    database_url: str = "sqlite+aiosqlite:///data/picasso.db"
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    discord_api_base_url: str | None = None
    image_timeout: float = 300.0
    chat_timeout: float = 30.0
    image_retries: int = 0
    image_concurrency: int = 4
    image_rate_limit: str | None = None  # the provider's limit, e.g. "50 per minute"
    shutdown_grace: float = 90.0
    partial_images: int = 2
    timezone: str = "UTC"
    message_content_intent: bool = False
    prices: Mapping[str, ModelPrice] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    bot_daily_budget_usd: float | None = None  # the whole bot's spend, every server together
    bot_monthly_budget_usd: float | None = None
    # What a server (and the DMs) gets until its admins change it: see DEFAULT_SERVER_LIMITS.
    new_server: GuildSettings = field(default_factory=lambda: NEW_SERVER)

    def __post_init__(self) -> None:
        # Guard against a plain str sneaking into a secret field (it would print).
        for name in ("discord_token", "openai_api_key"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Secret):
                raise TypeError(f"{name} must be a Secret")


def _required(env: Mapping[str, str], name: str) -> Secret:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(name, "is required but empty or unset (see .env.example)")
    if any(ch.isspace() for ch in value):
        raise ConfigError(name, "must not contain spaces")
    return Secret(value)


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = _optional(env, name)
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(name, "must be an http(s) URL such as https://host/v1")
    return value.rstrip("/")


def _number(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number between {low:g} and {high:g}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low:g} and {high:g}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = _optional(env, name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(name, f"must be a whole number between {low} and {high}")
    return int(raw)


def _snowflake(env: Mapping[str, str], name: str) -> int | None:
    raw = _optional(env, name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ConfigError(name, "must be a Discord id (digits only)")
    return int(raw)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (_optional(env, name) or "").lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, "must be true or false")


def _timezone(env: Mapping[str, str]) -> str:
    name = _optional(env, "TIMEZONE") or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TIMEZONE", "must be an IANA zone name such as Europe/Paris") from None
    return name


def _database_url(env: Mapping[str, str]) -> str:
    raw = _optional(env, "DATABASE_URL")
    if raw is None:
        return Settings.database_url
    # Accept the URLs hosting providers hand out and pick the async drivers.
    for prefix in ("postgres://", "postgresql://", "postgresql+asyncpg://"):
        if raw.startswith(prefix):
            if importlib.util.find_spec("asyncpg") is None:
                raise ConfigError(
                    "DATABASE_URL", "PostgreSQL needs the driver: pip install -e '.[postgres]'"
                )
            return "postgresql+asyncpg://" + raw[len(prefix) :]
    if raw.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + raw[len("sqlite:///") :]
    if raw.startswith("sqlite+aiosqlite://"):
        return raw
    raise ConfigError("DATABASE_URL", "must be a sqlite:/// or postgresql:// URL")


def _rate_limit(env: Mapping[str, str]) -> str | None:
    raw = _optional(env, "IMAGE_RATE_LIMIT")
    if raw is None:
        return None
    from bot.jobs.ratelimit import RateLimit

    try:
        RateLimit(raw)
    except ValueError:
        raise ConfigError(
            "IMAGE_RATE_LIMIT", 'must read like "50 per minute" or "6 per 10 seconds"'
        ) from None
    return raw


def _money(env: Mapping[str, str], name: str) -> float | None:
    if _optional(env, name) is None:
        return None
    return _number(env, name, 0.0, low=0, high=10_000_000)


def _new_server(env: Mapping[str, str]) -> GuildSettings:
    raw = _optional(env, "DEFAULT_SERVER_LIMITS")
    if raw is None:
        return NEW_SERVER
    if raw.lower() == "none":
        return GuildSettings()
    problem = (
        "must be none, or JSON of limits such as "
        '{"guild_daily_pictures": 50, "user_daily_pictures": 10, "guild_daily_usd": 5}'
        f" (known: {', '.join(SERVER_LIMITS)})"
    )
    try:
        table = json.loads(raw)
    except ValueError:
        raise ConfigError("DEFAULT_SERVER_LIMITS", problem) from None
    if not isinstance(table, dict) or not set(table) <= set(SERVER_LIMITS):
        raise ConfigError("DEFAULT_SERVER_LIMITS", problem)
    for name, value in table.items():
        if value is None:
            continue  # no limit
        number = not isinstance(value, bool) and isinstance(value, SERVER_LIMITS[name])
        if not number:
            raise ConfigError("DEFAULT_SERVER_LIMITS", f"{name} must be a number")
        if value < 0:
            raise ConfigError("DEFAULT_SERVER_LIMITS", f"{name} must be 0 or more")
    return GuildSettings().replace(**table)


def _prices(env: Mapping[str, str]) -> dict[str, ModelPrice]:
    prices = dict(DEFAULT_PRICES)
    raw = _optional(env, "IMAGE_PRICES")
    if raw is None:
        return prices
    try:
        table = json.loads(raw)
        for model, rates in table.items():
            prices[str(model)] = ModelPrice(**{k: float(v) for k, v in rates.items()})
    except (ValueError, TypeError, AttributeError):
        raise ConfigError(
            "IMAGE_PRICES",
            'must be JSON like {"model": {"text_in": 5, "image_in": 8, "image_out": 32}}',
        ) from None
    return prices


# The OpenAI key of a command that never calls OpenAI (`migrate`, `usage`).
NO_SECRET: Final = Secret("")


def _log_level(env: Mapping[str, str]) -> str:
    level = (_optional(env, "LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _readers(
    env: Mapping[str, str], *, need_discord: bool, need_openai: bool
) -> dict[str, Callable[[], object]]:
    """How each field is read, in the order problems are reported; a secret the command
    does not need is not read."""
    return {
        "log_level": lambda: _log_level(env),
        "discord_token": lambda: _required(env, "DISCORD_TOKEN") if need_discord else None,
        "openai_api_key": lambda: _required(env, "OPENAI_API_KEY") if need_openai else NO_SECRET,
        "openai_base_url": lambda: _url(env, "OPENAI_BASE_URL"),
        "chat_model": lambda: _optional(env, "CHAT_MODEL") or Settings.chat_model,
        "image_model": lambda: _optional(env, "IMAGE_MODEL") or Settings.image_model,
        "moderation_model": lambda: _optional(env, "MODERATION_MODEL") or Settings.moderation_model,
        "database_url": lambda: _database_url(env),
        "dev_guild_id": lambda: _snowflake(env, "DEV_GUILD_ID"),
        "discord_api_base_url": lambda: _url(env, "DISCORD_API_BASE_URL"),
        "image_timeout": lambda: _number(
            env, "IMAGE_TIMEOUT", Settings.image_timeout, low=1, high=1800
        ),
        "chat_timeout": lambda: _number(
            env, "CHAT_TIMEOUT", Settings.chat_timeout, low=1, high=600
        ),
        "image_retries": lambda: _integer(
            env, "IMAGE_RETRIES", Settings.image_retries, low=0, high=5
        ),
        "image_concurrency": lambda: _integer(
            env, "IMAGE_CONCURRENCY", Settings.image_concurrency, low=1, high=64
        ),
        "image_rate_limit": lambda: _rate_limit(env),
        "shutdown_grace": lambda: _number(
            env, "SHUTDOWN_GRACE", Settings.shutdown_grace, low=0, high=3600
        ),
        "partial_images": lambda: _integer(
            env, "PARTIAL_IMAGES", Settings.partial_images, low=0, high=3
        ),
        "prices": lambda: _prices(env),
        "timezone": lambda: _timezone(env),
        "message_content_intent": lambda: _flag(env, "MESSAGE_CONTENT_INTENT", False),
        "bot_daily_budget_usd": lambda: _money(env, "BOT_DAILY_BUDGET_USD"),
        "bot_monthly_budget_usd": lambda: _money(env, "BOT_MONTHLY_BUDGET_USD"),
        "new_server": lambda: _new_server(env),
    }


def _environment(env: Mapping[str, str] | None, dotenv: Path | None) -> Mapping[str, str]:
    if env is not None:
        return env
    from dotenv import load_dotenv

    load_dotenv(dotenv or Path(".env"), override=False)
    return os.environ


def read_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv: Path | None = None,
    need_discord: bool = True,
    need_openai: bool = True,
) -> tuple[Settings, list[ConfigError]]:
    """Every setting that can be read, and every problem found.

    A bad value is listed and its default used instead (a missing secret: None / empty),
    so `python -m bot check` can go on checking the rest.
    """
    readers = _readers(
        _environment(env, dotenv), need_discord=need_discord, need_openai=need_openai
    )
    values: dict[str, Any] = {"discord_token": None, "openai_api_key": NO_SECRET}
    problems: list[ConfigError] = []
    for name, read in readers.items():
        try:
            values[name] = read()
        except ConfigError as problem:
            problems.append(problem)
    return Settings(**values), problems


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv: Path | None = None,
    need_discord: bool = True,
    need_openai: bool = True,
) -> Settings:
    """Read settings from `env` (default: the process environment after loading `.env`);
    raises the first `ConfigError` found.

    `need_discord=False` / `need_openai=False` are for commands that never talk to Discord
    (`imagine`) or OpenAI (`migrate`, `usage`): that secret may be unset.
    """
    settings, problems = read_settings(
        env, dotenv=dotenv, need_discord=need_discord, need_openai=need_openai
    )
    if problems:
        raise problems[0]
    return settings
