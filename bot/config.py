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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# ConfigError and Secret live with the readers; the rest of the bot imports them from here.
from bot.env_readers import (
    ConfigError,
    Secret,
    choice,
    flag,
    host,
    http_url,
    integer,
    money,
    number,
    optional,
    port,
    required,
    snowflake,
)
from bot.imaging.pricing import DEFAULT_CHAT_PRICES, DEFAULT_PRICES, ChatPrice, ModelPrice
from bot.models import GuildSettings

log = logging.getLogger(__name__)

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS: Final = ("text", "json")
ROLES: Final = ("all", "gateway", "worker")
MAX_SHARDS: Final = 100_000  # far above any bot's need; a typo of many digits is caught
MIN_KEY_CHARS: Final = 16  # SAFETY_ID_KEY: a key short enough to guess would unmask people


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
    log_format: str = "text"  # "json": one JSON object per line
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
    # The chat and moderation models' rates (USD per 1M tokens); moderation free unless listed.
    chat_prices: Mapping[str, ChatPrice] = field(default_factory=lambda: dict(DEFAULT_CHAT_PRICES))
    # The whole bot's spend, every server together (None: no cap, BOT_DAILY_BUDGET_USD=none).
    bot_daily_budget_usd: float | None = 10.0
    bot_monthly_budget_usd: float | None = None
    # What a server (and the DMs) gets until its admins change it: see DEFAULT_SERVER_LIMITS.
    new_server: GuildSettings = field(default_factory=lambda: NEW_SERVER)
    health_port: int | None = None  # GET /healthz and /metrics; None: not served
    health_host: str = "127.0.0.1"  # where they listen (0.0.0.0 in a container)
    shard_count: int | None = None  # None: as many as Discord recommends (GET /gateway/bot)
    shard_ids: tuple[int, ...] | None = None  # the shards this process runs; None: all
    role: str = "all"  # all | gateway | worker (scale-out: see the README)
    redis_url: str | None = None  # the job queue and shared limits of gateway/worker roles
    worker_slots: int = 20  # jobs a worker holds at once (waiting for a turn, or painting)
    queue_heartbeat: int = 15  # seconds a worker's delivery may go without a heartbeat
    queue_sweep: int = 10  # how often workers look for deliveries whose worker died
    # The key of each person's safety identifier on OpenAI requests (None: derived from the
    # bot token; see `bot.imaging.providers.SafetyIds`).
    safety_id_key: Secret | None = None

    def __post_init__(self) -> None:
        # Guard against a plain str sneaking into a secret field (it would print).
        for name in ("discord_token", "openai_api_key", "safety_id_key"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Secret):
                raise TypeError(f"{name} must be a Secret")


def _timezone(env: Mapping[str, str]) -> str:
    name = optional(env, "TIMEZONE") or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TIMEZONE", "must be an IANA zone name such as Europe/Paris") from None
    return name


def _database_url(env: Mapping[str, str]) -> str:
    raw = optional(env, "DATABASE_URL")
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
    raw = optional(env, "IMAGE_RATE_LIMIT")
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


def _new_server(env: Mapping[str, str]) -> GuildSettings:
    raw = optional(env, "DEFAULT_SERVER_LIMITS")
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
    raw = optional(env, "IMAGE_PRICES")
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


def _chat_prices(env: Mapping[str, str]) -> dict[str, ChatPrice]:
    prices = dict(DEFAULT_CHAT_PRICES)
    raw = optional(env, "CHAT_PRICES")
    if raw is None:
        return prices
    try:
        table = json.loads(raw)
        for model, rates in table.items():
            price = ChatPrice(**{k: float(v) for k, v in rates.items()})
            if not all(0 <= rate < float("inf") for rate in (price.input, price.output)):
                raise ValueError("a rate is negative or not a number")
            prices[str(model)] = price
    except (ValueError, TypeError, AttributeError):
        raise ConfigError(
            "CHAT_PRICES",
            'must be JSON like {"gpt-5.4-mini": {"input": 0.75, "output": 4.5}} (USD per 1M)',
        ) from None
    return prices


def _shard_count(env: Mapping[str, str]) -> int | None:
    if optional(env, "SHARD_COUNT") is None:
        return None
    return integer(env, "SHARD_COUNT", 1, low=1, high=MAX_SHARDS)


def _shard_ids(env: Mapping[str, str]) -> tuple[int, ...] | None:
    raw = optional(env, "SHARD_IDS")
    if raw is None:
        return None
    parts = [part.strip() for part in raw.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ConfigError("SHARD_IDS", "must be shard numbers separated by commas, such as 0,1")
    ids = tuple(int(part) for part in parts)
    if len(set(ids)) < len(ids):
        raise ConfigError("SHARD_IDS", "names a shard twice")
    if optional(env, "SHARD_COUNT") is None:
        raise ConfigError("SHARD_IDS", "needs SHARD_COUNT, the number of shards of the whole bot")
    try:
        count = _shard_count(env)
    except ConfigError:
        return ids  # SHARD_COUNT's own problem is reported under its name
    if count is not None and max(ids) >= count:
        raise ConfigError("SHARD_IDS", f"shards are numbered 0 to {count - 1} (SHARD_COUNT)")
    return ids


# The OpenAI key of a command that never calls OpenAI (`migrate`, `usage`).
NO_SECRET: Final = Secret("")


def _readers(
    env: Mapping[str, str], *, need_discord: bool, need_openai: bool
) -> dict[str, Callable[[], object]]:
    """How each field is read, in the order problems are reported; a secret the command
    does not need is not read."""
    return {
        "log_level": lambda: choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO"),
        "log_format": lambda: choice(env, "LOG_FORMAT", LOG_FORMATS, "text"),
        "discord_token": lambda: required(env, "DISCORD_TOKEN") if need_discord else None,
        "openai_api_key": lambda: required(env, "OPENAI_API_KEY") if need_openai else NO_SECRET,
        "openai_base_url": lambda: http_url(env, "OPENAI_BASE_URL"),
        "chat_model": lambda: optional(env, "CHAT_MODEL") or Settings.chat_model,
        "image_model": lambda: optional(env, "IMAGE_MODEL") or Settings.image_model,
        "moderation_model": lambda: optional(env, "MODERATION_MODEL") or Settings.moderation_model,
        "database_url": lambda: _database_url(env),
        "dev_guild_id": lambda: snowflake(env, "DEV_GUILD_ID"),
        "discord_api_base_url": lambda: http_url(env, "DISCORD_API_BASE_URL"),
        "image_timeout": lambda: number(
            env, "IMAGE_TIMEOUT", Settings.image_timeout, low=1, high=1800
        ),
        "chat_timeout": lambda: number(env, "CHAT_TIMEOUT", Settings.chat_timeout, low=1, high=600),
        "image_retries": lambda: integer(
            env, "IMAGE_RETRIES", Settings.image_retries, low=0, high=5
        ),
        "image_concurrency": lambda: integer(
            env, "IMAGE_CONCURRENCY", Settings.image_concurrency, low=1, high=64
        ),
        "image_rate_limit": lambda: _rate_limit(env),
        "shutdown_grace": lambda: number(
            env, "SHUTDOWN_GRACE", Settings.shutdown_grace, low=0, high=3600
        ),
        "partial_images": lambda: integer(
            env, "PARTIAL_IMAGES", Settings.partial_images, low=0, high=3
        ),
        "prices": lambda: _prices(env),
        "chat_prices": lambda: _chat_prices(env),
        "timezone": lambda: _timezone(env),
        "message_content_intent": lambda: flag(env, "MESSAGE_CONTENT_INTENT", False),
        "bot_daily_budget_usd": lambda: money(
            env, "BOT_DAILY_BUDGET_USD", Settings.bot_daily_budget_usd
        ),
        "bot_monthly_budget_usd": lambda: money(env, "BOT_MONTHLY_BUDGET_USD"),
        "new_server": lambda: _new_server(env),
        "health_port": lambda: port(env, "HEALTH_PORT"),
        "health_host": lambda: host(env, "HEALTH_HOST", Settings.health_host),
        "shard_count": lambda: _shard_count(env),
        "shard_ids": lambda: _shard_ids(env),
        "role": lambda: _role(env),
        "redis_url": lambda: _redis_url(env),
        "worker_slots": lambda: integer(
            env, "WORKER_SLOTS", Settings.worker_slots, low=1, high=500
        ),
        "queue_heartbeat": lambda: integer(
            env, "QUEUE_HEARTBEAT", Settings.queue_heartbeat, low=2, high=600
        ),
        "queue_sweep": lambda: integer(env, "QUEUE_SWEEP", Settings.queue_sweep, low=1, high=600),
        "safety_id_key": lambda: _safety_id_key(env),
    }


def _safety_id_key(env: Mapping[str, str]) -> Secret | None:
    if optional(env, "SAFETY_ID_KEY") is None:
        return None
    key = required(env, "SAFETY_ID_KEY")
    if len(key.get()) < MIN_KEY_CHARS:
        raise ConfigError("SAFETY_ID_KEY", f"must be at least {MIN_KEY_CHARS} characters long")
    return key


def _role(env: Mapping[str, str]) -> str:
    role = choice(env, "ROLE", ROLES, "all")
    if role != "all":
        database = optional(env, "DATABASE_URL") or ""
        if not database.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
            raise ConfigError("ROLE", f"{role} processes share a PostgreSQL DATABASE_URL")
        if optional(env, "REDIS_URL") is None:
            raise ConfigError("ROLE", f"{role} processes need REDIS_URL (the job queue)")
    return role


def _redis_url(env: Mapping[str, str]) -> str | None:
    raw = optional(env, "REDIS_URL")
    if raw is not None and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL", "must be a redis://, rediss:// or unix:// URL")
    return raw


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
