"""Discord's REST rate limits, as the fake Discord enforces them (FACTS.md, "Rate limits").

Buckets are fixed windows: a bucket's window opens with its first request after the last
reset and closes ``seconds`` later. Three kinds:

- ``interaction_webhook``: ``/webhooks/{application_id}/{token}`` and everything under it
  (follow-ups, ``messages/@original`` and ``messages/{id}``), one bucket per token;
- ``channel_messages``: ``POST /channels/{id}/messages``, one bucket per channel;
- ``global``: every other route except interaction callbacks, one bucket for the bot.

Answers on a route with its own bucket carry that bucket's ``X-RateLimit-*`` headers, which
discord.py reads to pace itself. As on Discord, the global limit is not described in headers
(only a global 429 reveals it), and callbacks carry no rate-limit headers at all. A request
refused with 429 does not count against any bucket and is not processed.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

RouteKind = Literal["callback", "interaction_webhook", "channel_messages", "other"]

CALLBACK = re.compile(r"/interactions/\d+/[^/]+/callback/?")
INTERACTION_WEBHOOK = re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)(?:/.*)?")
CHANNEL_MESSAGES = re.compile(r"/channels/(?P<cid>\d+)/messages/?")
GLOBAL_KINDS: frozenset[RouteKind] = frozenset({"channel_messages", "other"})


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests per fixed window of ``seconds``."""

    limit: int
    seconds: float


@dataclass(frozen=True)
class DiscordRateLimits:
    """The limits the fake enforces; Discord's by default (shrink the windows in tests)."""

    interaction_webhook: Window = Window(5, 2.0)
    channel_messages: Window = Window(5, 5.0)
    bot_global: Window = Window(50, 1.0)


def route_kind(method: str, path: str) -> RouteKind:
    """Which rate-limit family a request belongs to (``path`` is relative to ``/api/v10``)."""
    if CALLBACK.fullmatch(path):
        return "callback"
    if INTERACTION_WEBHOOK.fullmatch(path):
        return "interaction_webhook"
    if method == "POST" and CHANNEL_MESSAGES.fullmatch(path):
        return "channel_messages"
    return "other"


@dataclass
class _Bucket:
    """One fixed window's count; ``reset_at`` is on the monotonic clock."""

    name: str
    window: Window
    used: int = 0
    reset_at: float = 0.0

    def wait(self, now: float) -> float | None:
        """Seconds until a slot frees, or None if a request may go now."""
        if now >= self.reset_at or self.used < self.window.limit:
            return None
        return self.reset_at - now

    def take(self, now: float) -> None:
        """Count a request; the first one after a reset opens the next window."""
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = now + self.window.seconds
        self.used += 1

    def headers(self, now: float) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers describing this bucket now.

        The bucket hash names the kind, not the key: as on Discord, the major parameter
        (channel, token) tells buckets of one kind apart. discord.py keys its buckets by
        hash + major parameters and re-keys a route whose hash changes, so a hash per key
        would make it forget one channel's state whenever it posts to another.
        """
        fresh = now >= self.reset_at
        left = self.window.seconds if fresh else self.reset_at - now
        reset_after = math.ceil(left * 1000) / 1000  # never tell a client to come back early
        remaining = self.window.limit - (0 if fresh else self.used)
        return {
            "X-RateLimit-Limit": str(self.window.limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha256(self.name.encode()).hexdigest()[:32],
        }


class RateLimited(Exception):
    """A request refused with 429; carries the body and headers Discord sends."""

    def __init__(self, retry_after: float, is_global: bool, headers: dict[str, str]) -> None:
        super().__init__(f"rate limited for {retry_after:.3f}s (global={is_global})")
        retry_after = math.ceil(retry_after * 1000) / 1000
        self.body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        self.headers = {
            **headers,
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            self.headers["X-RateLimit-Global"] = "true"


@dataclass
class RateLimiter:
    """The fake's buckets, keyed by (kind, major parameter); windows run on `clock`
    (``time.monotonic`` unless a test sets a clock it moves by hand)."""

    buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def admit(self, limits: DiscordRateLimits, method: str, path: str) -> dict[str, str]:
        """Count the request in its buckets and return the headers its answer carries.

        Raises :class:`RateLimited` (counting nothing) if any of its buckets is full.
        """
        now = self.clock()
        kind = route_kind(method, path)
        own = self._own_bucket(limits, kind, path)
        shared = self._bucket("global", "bot", limits.bot_global)
        buckets = [b for b in (own, shared if kind in GLOBAL_KINDS else None) if b is not None]
        for bucket in buckets:
            wait = bucket.wait(now)
            if wait is not None:
                headers = own.headers(now) if own is not None else {}
                raise RateLimited(wait, bucket is shared, headers)
        for bucket in buckets:
            bucket.take(now)
        return own.headers(now) if own is not None else {}

    def _own_bucket(self, limits: DiscordRateLimits, kind: RouteKind, path: str) -> _Bucket | None:
        if kind == "interaction_webhook":
            found = INTERACTION_WEBHOOK.fullmatch(path)
            assert found is not None
            return self._bucket(kind, found["token"], limits.interaction_webhook)
        if kind == "channel_messages":
            found = CHANNEL_MESSAGES.fullmatch(path)
            assert found is not None
            return self._bucket(kind, found["cid"], limits.channel_messages)
        return None

    def _bucket(self, name: str, key: str, window: Window) -> _Bucket:
        bucket = self.buckets.get((name, key))
        if bucket is None or bucket.window != window:  # new limits: start afresh
            bucket = self.buckets[(name, key)] = _Bucket(name, window)
        return bucket
