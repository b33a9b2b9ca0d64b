"""A bounded retry: a few attempts, exponential backoff with full jitter, never past a deadline.

Pure asyncio (no Discord, no provider): the clock, the sleep and the randomness are
parameters, so the domain may use it and tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["retrying"]

T = TypeVar("T")

_RANDOM = random.Random()  # noqa: S311 (jitter, not secrecy)


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    retry_on: Callable[[BaseException], bool],
    deadline: float | None,
    clock: Callable[[], float],
    attempts: int,
    base: float = 0.5,
    cap: float = 10.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[BaseException, float], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """What `call()` returns, calling it again after failures that `retry_on` accepts.

    At most `attempts` calls in all (1: no retry). Before retry `n` (0 for the first) it
    waits `rng.uniform(0, min(cap, base * 2**n))` seconds (exponential backoff, full
    jitter), telling `on_retry(error, wait)` first. It never sleeps past `deadline` (a
    time on `clock`, None: no deadline): when the next wait would end after it, or the
    attempts are used up, the last error is re-raised as it was. An exception `retry_on`
    refuses propagates at once. `asyncio.CancelledError` (any `BaseException` that is not
    an `Exception`) always propagates, from a call or from a sleep, and is never retried.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    chance = _RANDOM if rng is None else rng
    made = 0
    wait = 0.0
    while True:
        made += 1
        try:
            return await call()
        except Exception as error:
            if made >= attempts or not retry_on(error):
                raise
            wait = chance.uniform(0.0, min(cap, base * 2 ** min(made - 1, 64)))
            if deadline is not None and clock() + wait > deadline:
                raise
            if on_retry is not None:
                on_retry(error, wait)
        await sleep(wait)  # outside `except`: the next error does not chain to this one
