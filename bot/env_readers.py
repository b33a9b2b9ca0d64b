"""Readers of one environment variable each: a typed value, its default when unset, or a
`ConfigError` naming the variable (never its value, which may be a secret).

`bot.config` puts them together into `Settings`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlparse

# The largest cap in US dollars a setting may give (a typo of many digits is caught).
MOST_USD: Final = 10_000_000
# A host name as a bind address may spell it (letters, digits, hyphens, dots).
HOST_NAME: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?")


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


def required(env: Mapping[str, str], name: str) -> Secret:
    """A secret that must be set (one word, no spaces)."""
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(name, "is required but empty or unset (see .env.example)")
    if any(ch.isspace() for ch in value):
        raise ConfigError(name, "must not contain spaces")
    return Secret(value)


def optional(env: Mapping[str, str], name: str) -> str | None:
    """The value stripped of spaces, or None when unset or blank."""
    value = env.get(name, "").strip()
    return value or None


def http_url(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL without its trailing slash, or None when unset."""
    value = optional(env, name)
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(name, "must be an http(s) URL such as https://host/v1")
    return value.rstrip("/")


def number(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    """A number in [low, high], or `default` when unset."""
    raw = optional(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number between {low:g} and {high:g}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low:g} and {high:g}")
    return value


def integer(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    """A whole number in [low, high], or `default` when unset."""
    raw = optional(env, name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(name, f"must be a whole number between {low} and {high}")
    return int(raw)


def snowflake(env: Mapping[str, str], name: str) -> int | None:
    """A Discord id, or None when unset."""
    raw = optional(env, name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ConfigError(name, "must be a Discord id (digits only)")
    return int(raw)


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """true/false (also 1/0, yes/no, on/off), or `default` when unset."""
    raw = (optional(env, name) or "").lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, "must be true or false")


def money(env: Mapping[str, str], name: str, default: float | None = None) -> float | None:
    """An amount of US dollars; `none` for no cap (None), `default` when unset."""
    raw = optional(env, name)
    if raw is None:
        return default
    if raw.lower() == "none":
        return None
    try:
        return number(env, name, 0.0, low=0, high=MOST_USD)
    except ConfigError:
        raise ConfigError(
            name, f"must be US dollars between 0 and {MOST_USD:,} (such as 10), or none"
        ) from None


def choice(env: Mapping[str, str], name: str, options: tuple[str, ...], default: str) -> str:
    """One of `options`, written in any case (`default` when unset), as `options` spell it."""
    raw = optional(env, name)
    if raw is None:
        return default
    for option in options:
        if option.lower() == raw.lower():
            return option
    raise ConfigError(name, f"must be one of {', '.join(options)}")


def port(env: Mapping[str, str], name: str) -> int | None:
    """A TCP port (1–65535), or None (off) when unset."""
    if optional(env, name) is None:
        return None
    return integer(env, name, 0, low=1, high=65535)


def host(env: Mapping[str, str], name: str, default: str) -> str:
    """An address to listen on: an IP address or a host name, `default` when unset."""
    raw = optional(env, name)
    if raw is None:
        return default
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if not HOST_NAME.fullmatch(raw):
            raise ConfigError(
                name, "must be an IP address such as 0.0.0.0 or a host name"
            ) from None
    return raw
