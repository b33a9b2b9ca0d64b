"""Settings: required values, validation that names the variable, secrets that never print."""

import zoneinfo
from collections.abc import Iterator

import pytest

from bot.config import ConfigError, load_settings, read_settings
from bot.imaging.pricing import ChatPrice, chat_price_for

BASE = {"DISCORD_TOKEN": "discord-token-abcdef", "OPENAI_API_KEY": "sk-secret-123456"}


def test_defaults_need_only_the_two_secrets() -> None:
    settings = load_settings(BASE)
    assert settings.image_model.startswith("gpt-image")
    assert settings.database_url == "sqlite+aiosqlite:///data/picasso.db"
    assert settings.discord_api_base_url is None


@pytest.mark.parametrize("missing", ["DISCORD_TOKEN", "OPENAI_API_KEY"])
def test_missing_secret_names_the_variable(missing: str) -> None:
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.variable == missing
    assert str(caught.value).startswith(missing)


def test_imagine_command_does_not_need_a_discord_token() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-x"}, need_discord=False)
    assert settings.discord_token is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OPENAI_BASE_URL", "not a url"),
        ("DISCORD_API_BASE_URL", "ftp://x"),
        ("DEV_GUILD_ID", "12ab"),
        ("LOG_LEVEL", "LOUD"),
        ("IMAGE_TIMEOUT", "fast"),
        ("IMAGE_CONCURRENCY", "0"),
        ("PARTIAL_IMAGES", "9"),
        ("DATABASE_URL", "mysql://x"),
        ("IMAGE_PRICES", "{not json"),
        ("CHAT_PRICES", "{not json"),
        ("CHAT_PRICES", '{"gpt-5.4-mini": {"input": 1}}'),
        ("CHAT_PRICES", '{"gpt-5.4-mini": {"input": -1, "output": 1}}'),
        ("CHAT_PRICES", '{"gpt-5.4-mini": {"input": 1, "output": 1, "cached": 1}}'),
        ("IMAGE_RATE_LIMIT", "fast please"),
        ("IMAGE_RATE_LIMIT", "0 per hour"),
        ("SHUTDOWN_GRACE", "-1"),
        ("HEALTH_PORT", "0"),
        ("HEALTH_PORT", "70000"),
        ("HEALTH_PORT", "http"),
        ("HEALTH_HOST", "not a host!"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_malformed_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, name: value})
    assert caught.value.variable == name
    assert value not in str(caught.value) or name == "DEV_GUILD_ID"


def test_database_urls_get_async_drivers() -> None:
    pg = load_settings({**BASE, "DATABASE_URL": "postgres://u:p@h/db"}).database_url
    lite = load_settings({**BASE, "DATABASE_URL": "sqlite:///tmp/x.db"}).database_url
    assert pg == "postgresql+asyncpg://u:p@h/db"
    assert lite == "sqlite+aiosqlite:///tmp/x.db"


def test_price_override_merges_into_the_table() -> None:
    settings = load_settings(
        {**BASE, "IMAGE_PRICES": '{"my-model": {"text_in": 1, "image_in": 2, "image_out": 3}}'}
    )
    assert settings.prices["my-model"].image_out == 3
    assert "gpt-image-2" in settings.prices


def test_chat_prices_merge_into_the_table_and_moderation_is_free_unless_listed() -> None:
    assert load_settings(BASE).chat_prices["gpt-5.4-mini"] == ChatPrice(0.75, 4.5)
    table = '{"my-chat": {"input": 1, "output": 2}, "omni-moderation": {"input": 0.5, "output": 0}}'
    settings = load_settings({**BASE, "CHAT_PRICES": table})
    assert settings.chat_prices["my-chat"] == ChatPrice(1, 2)
    assert "gpt-5.4-mini" in settings.chat_prices
    moderation = chat_price_for("omni-moderation-latest", settings.chat_prices, kind="moderation")
    assert moderation.input == 0.5
    assert chat_price_for("omni-moderation-latest", kind="moderation") == ChatPrice(0, 0)


def test_secrets_never_show_in_repr_or_str() -> None:
    settings = load_settings(BASE)
    for text in (repr(settings), str(settings), f"{settings.openai_api_key}"):
        assert "sk-secret-123456" not in text
        assert "discord-token-abcdef" not in text
    assert settings.openai_api_key.get() == "sk-secret-123456"


def test_the_provider_limit_is_written_as_the_limits_library_reads_it() -> None:
    assert load_settings(BASE).image_rate_limit is None  # no pacing unless asked
    paced = load_settings({**BASE, "IMAGE_RATE_LIMIT": "6 per 10 seconds"})
    assert paced.image_rate_limit == "6 per 10 seconds"
    assert load_settings({**BASE, "SHUTDOWN_GRACE": "5"}).shutdown_grace == 5


def test_a_new_server_gets_fifty_pictures_a_day_and_ten_per_person() -> None:
    fresh = load_settings(BASE).new_server
    assert (fresh.guild_daily_pictures, fresh.user_daily_pictures) == (50, 10)
    assert fresh.guild_daily_usd is None and fresh.moderation  # everything else as before


def test_default_server_limits_are_set_as_json_or_lifted_with_none() -> None:
    given = '{"guild_daily_usd": 2.5, "user_daily_pictures": 3, "cooldown_seconds": 0}'
    fresh = load_settings({**BASE, "DEFAULT_SERVER_LIMITS": given}).new_server
    assert (fresh.guild_daily_usd, fresh.user_daily_pictures) == (2.5, 3)
    assert fresh.guild_daily_pictures is None  # only what is given applies
    lifted = load_settings({**BASE, "DEFAULT_SERVER_LIMITS": "None"}).new_server
    assert (lifted.guild_daily_pictures, lifted.user_daily_pictures) == (None, None)


@pytest.mark.parametrize(
    "value",
    ["50", "[1]", '{"model": "x"}', '{"user_daily_pictures": "ten"}', '{"guild_daily_usd": -1}'],
)
def test_bad_default_server_limits_name_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "DEFAULT_SERVER_LIMITS": value})
    assert caught.value.variable == "DEFAULT_SERVER_LIMITS"


def test_the_bots_budgets_are_dollars_or_none() -> None:
    unset = load_settings(BASE)
    assert (unset.bot_daily_budget_usd, unset.bot_monthly_budget_usd) == (10.0, None)
    settings = load_settings(
        {**BASE, "BOT_DAILY_BUDGET_USD": "20", "BOT_MONTHLY_BUDGET_USD": "300.5"}
    )
    assert (settings.bot_daily_budget_usd, settings.bot_monthly_budget_usd) == (20.0, 300.5)
    for none in ("none", "None", " NONE "):
        lifted = load_settings(
            {**BASE, "BOT_DAILY_BUDGET_USD": none, "BOT_MONTHLY_BUDGET_USD": none}
        )
        assert (lifted.bot_daily_budget_usd, lifted.bot_monthly_budget_usd) == (None, None)
    assert load_settings({**BASE, "BOT_DAILY_BUDGET_USD": "0"}).bot_daily_budget_usd == 0.0
    for bad in ("lots", "-1", "1e9", "nan"):
        with pytest.raises(ConfigError, match="BOT_DAILY_BUDGET_USD") as caught:
            load_settings({**BASE, "BOT_DAILY_BUDGET_USD": bad})
        assert "or none" in str(caught.value)


@pytest.fixture
def no_system_zones() -> Iterator[None]:
    """A machine without zone data in /usr/share/zoneinfo: only the tzdata package is left."""
    saved = zoneinfo.TZPATH
    zoneinfo.reset_tzpath([])
    zoneinfo.ZoneInfo.clear_cache()
    yield
    zoneinfo.reset_tzpath(saved)
    zoneinfo.ZoneInfo.clear_cache()


@pytest.mark.usefixtures("no_system_zones")
def test_timezones_load_without_system_zone_data() -> None:
    assert zoneinfo.TZPATH == ()
    assert load_settings(BASE).timezone == "UTC"  # the default is checked too
    assert load_settings({**BASE, "TIMEZONE": "Europe/Paris"}).timezone == "Europe/Paris"


def test_every_problem_is_listed_with_defaults_in_their_place() -> None:
    settings, problems = read_settings(
        {"LOG_LEVEL": "LOUD", "OPENAI_API_KEY": "sk-x", "IMAGE_TIMEOUT": "soon", "TIMEZONE": "Mars"}
    )
    assert [p.variable for p in problems] == [
        "LOG_LEVEL",
        "DISCORD_TOKEN",
        "IMAGE_TIMEOUT",
        "TIMEZONE",
    ]
    assert (settings.log_level, settings.image_timeout, settings.timezone) == ("INFO", 300, "UTC")
    assert settings.discord_token is None and settings.openai_api_key.get() == "sk-x"


def test_load_settings_raises_the_first_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"IMAGE_TIMEOUT": "soon"})
    assert caught.value.variable == "DISCORD_TOKEN"


def test_database_commands_need_no_secrets() -> None:
    settings = load_settings(
        {"DATABASE_URL": "sqlite:///x.db"}, need_discord=False, need_openai=False
    )
    assert settings.discord_token is None
    assert settings.openai_api_key.get() == ""
    assert settings.database_url == "sqlite+aiosqlite:///x.db"


def test_health_is_off_and_logs_are_text_unless_set() -> None:
    settings = load_settings(BASE)
    assert (settings.health_port, settings.health_host, settings.log_format) == (
        None,
        "127.0.0.1",
        "text",
    )
    env = {**BASE, "HEALTH_PORT": "8080", "HEALTH_HOST": "0.0.0.0", "LOG_FORMAT": "JSON"}
    settings = load_settings(env)
    assert (settings.health_port, settings.health_host, settings.log_format) == (
        8080,
        "0.0.0.0",
        "json",
    )
    for host in ("::", "picasso-bot.internal"):
        assert load_settings({**BASE, "HEALTH_HOST": host}).health_host == host
    assert load_settings({**BASE, "LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_shards_are_discords_choice_unless_set() -> None:
    settings = load_settings(BASE)
    assert (settings.shard_count, settings.shard_ids) == (None, None)
    settings = load_settings({**BASE, "SHARD_COUNT": "4", "SHARD_IDS": " 3, 1 "})
    assert (settings.shard_count, settings.shard_ids) == (4, (3, 1))
    assert load_settings({**BASE, "SHARD_COUNT": "2"}).shard_ids is None  # all of them


@pytest.mark.parametrize(
    ("env", "variable", "problem"),
    [
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT", "whole number between 1 and"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT", "whole number between 1 and"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0;1"}, "SHARD_IDS", "separated by commas"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1,-1"}, "SHARD_IDS", "separated by commas"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1,1"}, "SHARD_IDS", "names a shard twice"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, "SHARD_IDS", "numbered 0 to 1"),
        ({"SHARD_IDS": "0"}, "SHARD_IDS", "needs SHARD_COUNT"),
    ],
)
def test_bad_shards_name_the_variable(env: dict[str, str], variable: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, **env})
    assert caught.value.variable == variable
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_shard_count_is_reported_once() -> None:
    _, problems = read_settings({**BASE, "SHARD_COUNT": "0", "SHARD_IDS": "5"})
    assert [p.variable for p in problems] == ["SHARD_COUNT"]


def test_one_process_is_the_default_and_roles_share_postgresql_and_redis() -> None:
    settings = load_settings(BASE)
    assert (settings.role, settings.redis_url, settings.worker_slots) == ("all", None, 20)
    shared = {"DATABASE_URL": "postgresql://db/picasso", "REDIS_URL": "redis://cache:6379/0"}
    worker = load_settings(BASE | shared | {"ROLE": "Worker", "WORKER_SLOTS": "8"})
    assert (worker.role, worker.redis_url, worker.worker_slots) == (
        "worker",
        shared["REDIS_URL"],
        8,
    )
    assert worker.database_url == "postgresql+asyncpg://db/picasso"


@pytest.mark.parametrize(
    ("env", "variable", "problem"),
    [
        ({"ROLE": "worker", "REDIS_URL": "redis://cache"}, "ROLE", "PostgreSQL"),
        ({"ROLE": "gateway", "DATABASE_URL": "postgresql://db/p"}, "ROLE", "REDIS_URL"),
        ({"ROLE": "painter"}, "ROLE", "one of all, gateway, worker"),
        ({"REDIS_URL": "http://cache"}, "REDIS_URL", "redis://"),
        ({"QUEUE_HEARTBEAT": "1"}, "QUEUE_HEARTBEAT", ""),
    ],
)
def test_bad_scale_out_settings_name_the_variable(
    env: dict[str, str], variable: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=variable) as caught:
        load_settings(BASE | env)
    assert problem in str(caught.value)


def test_the_safety_id_key_is_an_optional_secret() -> None:
    assert load_settings(BASE).safety_id_key is None
    key = "an-operators-key-0123456789"
    settings = load_settings({**BASE, "SAFETY_ID_KEY": key})
    assert settings.safety_id_key is not None and settings.safety_id_key.get() == key
    assert key not in repr(settings) and key not in str(settings)
    for bad in ("short", "has a space in it somewhere"):
        with pytest.raises(ConfigError) as caught:
            load_settings({**BASE, "SAFETY_ID_KEY": bad})
        assert caught.value.variable == "SAFETY_ID_KEY" and bad not in str(caught.value)
