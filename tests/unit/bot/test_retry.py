"""bot/retry.py: a few attempts with capped, jittered backoff, never sleeping past a deadline."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from bot.retry import retrying


class Flaky(Exception):
    """A failure worth another try."""


class Broken(Exception):
    """A failure that no retry will mend."""


class Clock:
    """A fake clock whose sleep advances it at once (no real waiting)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Top(random.Random):
    """Jitter that always picks the longest wait allowed, to read the backoff's ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def failing(
    *errors: BaseException, then: str = "done"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A call that raises `errors` in turn, then returns `then`; and its call count."""
    calls: list[int] = []

    async def call() -> str:
        calls.append(len(calls))
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return then

    return call, calls


def flaky(error: BaseException) -> bool:
    return isinstance(error, Flaky)


async def test_retries_then_succeeds() -> None:
    clock = Clock()
    call, calls = failing(Flaky(), Flaky())
    seen: list[tuple[BaseException, float]] = []
    answer = await retrying(
        call,
        retry_on=flaky,
        deadline=None,
        clock=clock,
        attempts=5,
        sleep=clock.sleep,
        on_retry=lambda error, wait: seen.append((error, wait)),
        rng=random.Random(7),
    )
    assert answer == "done" and len(calls) == 3
    assert [wait for _, wait in seen] == clock.slept and len(clock.slept) == 2
    assert all(isinstance(error, Flaky) for error, _ in seen)
    assert 0 <= clock.slept[0] <= 0.5 and 0 <= clock.slept[1] <= 1.0


async def test_gives_up_after_the_attempts_with_the_last_error() -> None:
    clock = Clock()
    last = Flaky("third")
    call, calls = failing(Flaky("first"), Flaky("second"), last)
    with pytest.raises(Flaky) as raised:
        await retrying(
            call, retry_on=flaky, deadline=None, clock=clock, attempts=3, sleep=clock.sleep
        )
    assert raised.value is last and len(calls) == 3 and len(clock.slept) == 2


async def test_one_attempt_means_no_retry() -> None:
    clock = Clock()
    call, calls = failing(Flaky())
    with pytest.raises(Flaky):
        await retrying(
            call, retry_on=flaky, deadline=None, clock=clock, attempts=1, sleep=clock.sleep
        )
    assert len(calls) == 1 and clock.slept == []


async def test_gives_up_before_a_sleep_that_would_pass_the_deadline() -> None:
    clock = Clock(now=100.0)
    call, calls = failing(*(Flaky(str(n)) for n in range(10)))
    # Waits of 0.5, 1, 2, 4: after 0.5 + 1 + 2 = 3.5 s the next (4 s) would end at 107.5.
    with pytest.raises(Flaky) as raised:
        await retrying(
            call,
            retry_on=flaky,
            deadline=105.0,
            clock=clock,
            attempts=10,
            sleep=clock.sleep,
            rng=Top(),
        )
    assert clock.slept == [0.5, 1.0, 2.0]
    assert clock.now == 103.5 <= 105.0
    assert len(calls) == 4 and str(raised.value) == "3"


@pytest.mark.parametrize("seed", range(20))
async def test_never_sleeps_past_the_deadline_whatever_the_jitter(seed: int) -> None:
    clock = Clock(now=0.0)
    call, _ = failing(*(Flaky() for _ in range(50)))
    with pytest.raises(Flaky):
        await retrying(
            call,
            retry_on=flaky,
            deadline=3.0,
            clock=clock,
            attempts=50,
            sleep=clock.sleep,
            rng=random.Random(seed),
        )
    assert clock.now <= 3.0


async def test_a_deadline_already_passed_means_no_sleep() -> None:
    clock = Clock(now=10.0)
    call, calls = failing(Flaky(), Flaky())
    with pytest.raises(Flaky):
        await retrying(
            call, retry_on=flaky, deadline=9.0, clock=clock, attempts=5, sleep=clock.sleep
        )
    assert len(calls) == 1 and clock.slept == []


async def test_an_error_not_to_retry_propagates_at_once() -> None:
    clock = Clock()
    broken = Broken()
    call, calls = failing(broken, Flaky())
    retried: list[BaseException] = []
    with pytest.raises(Broken) as raised:
        await retrying(
            call,
            retry_on=flaky,
            deadline=None,
            clock=clock,
            attempts=5,
            sleep=clock.sleep,
            on_retry=lambda error, wait: retried.append(error),
        )
    assert raised.value is broken
    assert len(calls) == 1 and clock.slept == [] and retried == []


async def test_the_backoff_doubles_and_is_capped() -> None:
    clock = Clock()
    call, calls = failing(*(Flaky() for _ in range(7)))
    answer = await retrying(
        call,
        retry_on=flaky,
        deadline=None,
        clock=clock,
        attempts=8,
        base=0.25,
        cap=3.0,
        sleep=clock.sleep,
        rng=Top(),
    )
    assert answer == "done" and len(calls) == 8
    assert clock.slept == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


async def test_the_jitter_is_full_between_zero_and_the_ceiling() -> None:
    clock = Clock()
    call, _ = failing(*(Flaky() for _ in range(200)))
    await retrying(
        call,
        retry_on=flaky,
        deadline=None,
        clock=clock,
        attempts=201,
        base=1.0,
        cap=1.0,
        sleep=clock.sleep,
        rng=random.Random(1),
    )
    assert all(0.0 <= wait <= 1.0 for wait in clock.slept)
    assert min(clock.slept) < 0.1 and max(clock.slept) > 0.9  # spread over the whole range


async def test_a_cancelled_call_propagates_even_if_retry_on_would_accept_it() -> None:
    clock = Clock()
    call, calls = failing(asyncio.CancelledError(), Flaky())
    with pytest.raises(asyncio.CancelledError):
        await retrying(
            call,
            retry_on=lambda error: True,
            deadline=None,
            clock=clock,
            attempts=5,
            sleep=clock.sleep,
        )
    assert len(calls) == 1 and clock.slept == []


async def test_a_cancellation_during_the_backoff_propagates() -> None:
    call, calls = failing(Flaky(), Flaky())
    started = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        started.set()
        await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(
        retrying(
            call,
            retry_on=flaky,
            deadline=None,
            clock=Clock(),
            attempts=5,
            sleep=slow_sleep,
        )
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) == 1


async def test_the_real_sleep_is_the_default() -> None:
    call, calls = failing(Flaky())
    loop = asyncio.get_running_loop()
    answer = await retrying(
        call, retry_on=flaky, deadline=None, clock=loop.time, attempts=2, base=0.001, cap=0.001
    )
    assert answer == "done" and len(calls) == 2


@pytest.mark.parametrize("attempts", [0, -1])
async def test_at_least_one_attempt_is_required(attempts: int) -> None:
    call, calls = failing()
    with pytest.raises(ValueError, match="attempts"):
        await retrying(call, retry_on=flaky, deadline=None, clock=Clock(), attempts=attempts)
    assert calls == []
