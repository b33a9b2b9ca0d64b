"""The coalescing progress reporter: bursts become two sends, nothing is sent twice, one send
in flight per message, take_over() drops what is pending, failed sends are logged and swallowed.

Time is fake: the reporter reads `FakeTime` as its clock and sleeps on it; tests move it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable

import pytest

from bot.jobs.progress import Reporter, Send

pytestmark = pytest.mark.timeout(10)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class FakeTime:
    """A clock and a sleep that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, wake))
        await wake

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [(at, wake) for at, wake in self._sleepers if at <= self.now]
        self._sleepers = [(at, wake) for at, wake in self._sleepers if at > self.now]
        for _, wake in due:
            if not wake.done():
                wake.set_result(None)
        await settle()


class Screen:
    """What each message was sent to show, in order; `hold` keeps sends in flight."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold: asyncio.Event | None = None
        self.error: Exception | None = None

    def edit(self, key: str, text: str) -> Send:
        async def send() -> None:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                if self.hold is not None:
                    await self.hold.wait()
                if self.error is not None:
                    raise self.error
                self.sent.append((key, text))
            finally:
                self.in_flight -= 1

        return send


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def reporter(time: FakeTime) -> Reporter:
    return Reporter(interval=2.0, clock=time, sleep=time.sleep)


def show(reporter: Reporter, screen: Screen, key: str, text: str) -> None:
    reporter.show(key, text, screen.edit(key, text))


async def test_a_burst_becomes_the_first_at_once_and_the_latest_after_the_interval(
    reporter: Reporter, time: FakeTime
) -> None:
    screen = Screen()
    show(reporter, screen, "m", "position 1")
    await settle()
    for n in range(2, 11):
        await time.advance(0.125)
        show(reporter, screen, "m", f"position {n}")
    await time.advance(0.75)
    assert screen.sent == [("m", "position 1")]
    await time.advance(0.125)  # 2 s after the first send
    assert screen.sent == [("m", "position 1"), ("m", "position 10")]
    await time.advance(10)
    assert len(screen.sent) == 2  # nothing more came later


async def test_show_schedules_the_send_and_never_awaits_it(reporter: Reporter) -> None:
    screen = Screen()
    show(reporter, screen, "m", "queued")
    assert screen.sent == []  # show() returned before the send ran
    await settle()
    assert screen.sent == [("m", "queued")]


async def test_an_update_after_a_quiet_interval_is_sent_at_once(
    reporter: Reporter, time: FakeTime
) -> None:
    screen = Screen()
    show(reporter, screen, "m", "a")
    await settle()
    await time.advance(2.5)
    show(reporter, screen, "m", "b")
    await settle()
    assert screen.sent == [("m", "a"), ("m", "b")]


async def test_what_a_message_shows_or_is_about_to_show_is_not_sent_again(
    reporter: Reporter, time: FakeTime
) -> None:
    screen = Screen()
    show(reporter, screen, "m", "a")
    await settle()
    show(reporter, screen, "m", "a")  # already shows it
    await time.advance(5)
    assert screen.sent == [("m", "a")]
    show(reporter, screen, "m", "b")  # after a quiet while: at once
    await settle()
    show(reporter, screen, "m", "c")
    show(reporter, screen, "m", "c")  # about to show it
    await time.advance(2)
    assert screen.sent == [("m", "a"), ("m", "b"), ("m", "c")]
    show(reporter, screen, "m", "d")
    show(reporter, screen, "m", "c")  # back to what it shows: the pending "d" is moot
    await time.advance(5)
    assert screen.sent == [("m", "a"), ("m", "b"), ("m", "c")]
    assert len(screen.sent) == 3


async def test_messages_are_paced_separately(reporter: Reporter) -> None:
    screen = Screen()
    show(reporter, screen, "m1", "a")
    show(reporter, screen, "m2", "a")
    await settle()
    assert screen.sent == [("m1", "a"), ("m2", "a")]


async def test_never_two_sends_in_flight_for_one_message(
    reporter: Reporter, time: FakeTime
) -> None:
    screen = Screen()
    screen.hold = asyncio.Event()
    show(reporter, screen, "m", "a")
    await settle()
    show(reporter, screen, "m", "b")
    await time.advance(10)  # the interval passed, but "a" is still being sent
    assert screen.in_flight == 1
    screen.hold.set()
    await settle()
    assert screen.sent == [("m", "a"), ("m", "b")]
    assert screen.most_in_flight == 1


async def test_settle_drops_what_is_pending_and_the_next_show_starts_fresh(
    reporter: Reporter, time: FakeTime
) -> None:
    screen = Screen()
    show(reporter, screen, "m", "a")
    await settle()
    show(reporter, screen, "m", "b")
    await reporter.take_over("m")
    await time.advance(5)
    assert screen.sent == [("m", "a")]
    show(reporter, screen, "m", "a")  # fresh: not compared with the old text, not delayed
    await settle()
    assert screen.sent == [("m", "a"), ("m", "a")]


async def test_settle_waits_for_the_send_in_flight(reporter: Reporter) -> None:
    screen = Screen()
    screen.hold = asyncio.Event()
    show(reporter, screen, "m", "a")
    await settle()
    settling = asyncio.create_task(reporter.take_over("m"))
    await settle()
    assert not settling.done()
    screen.hold.set()
    await settle()
    assert settling.done()
    assert screen.sent == [("m", "a")]


async def test_settle_of_an_unknown_message_returns(reporter: Reporter) -> None:
    await reporter.take_over("never shown")


async def test_an_expected_failure_is_one_warning_and_the_text_is_sent_again(
    reporter: Reporter, time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    screen = Screen()
    screen.error = ConnectionResetError("gone")
    with caplog.at_level(logging.WARNING, logger="bot.jobs.progress"):
        show(reporter, screen, "m", "a")
        await settle()
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    screen.error = None
    await time.advance(2)
    show(reporter, screen, "m", "a")  # the failed send showed nothing: try again
    await settle()
    assert screen.sent == [("m", "a")]


async def test_an_unexpected_failure_is_logged_with_its_traceback_and_swallowed(
    time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    class EditRefused(Exception):
        pass

    reporter = Reporter(clock=time, sleep=time.sleep, expected=(EditRefused,))
    screen = Screen()
    screen.error = RuntimeError("bug")
    show(reporter, screen, "m", "a")
    await settle()
    screen.error = EditRefused("unknown message")
    await time.advance(2)
    show(reporter, screen, "m", "b")
    await settle()
    bug, refused = caplog.records
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
    assert refused.levelno == logging.WARNING and refused.exc_info is None


async def test_close_cancels_what_is_pending(reporter: Reporter, time: FakeTime) -> None:
    screen = Screen()
    show(reporter, screen, "m", "a")
    await settle()
    show(reporter, screen, "m", "b")
    await reporter.close()
    await time.advance(5)
    assert screen.sent == [("m", "a")]


async def test_drain_lets_a_delayed_send_go_out_before_closing() -> None:
    sleeps: list[float] = []
    now = [0.0]

    async def sleep(seconds: float) -> None:  # time passes as soon as it is waited for
        sleeps.append(seconds)
        now[0] += seconds

    reporter = Reporter(interval=2.0, clock=lambda: now[0], sleep=sleep)
    screen = Screen()
    show(reporter, screen, "m", "⏳ In line")
    await settle()
    show(reporter, screen, "m", "⏳ The bot is restarting")
    await reporter.drain(timeout=5)
    assert screen.sent == [("m", "⏳ In line"), ("m", "⏳ The bot is restarting")]
    assert sleeps == [2.0]  # it waited its turn, then went out before the close


async def test_an_update_held_back_is_dropped_if_its_message_is_no_longer_ours(
    time: FakeTime,
) -> None:
    """Asked right before each send: a job another process took over meanwhile (or this
    process let go) shows nothing stale over what that process posted."""
    ours: dict[Hashable, bool] = {"m": True}
    reporter = Reporter(interval=2.0, clock=time, sleep=time.sleep, may_send=ours.__getitem__)
    screen = Screen()
    show(reporter, screen, "m", "🧠 writing")
    await settle()
    show(reporter, screen, "m", "🎨 painting")  # held back for the interval
    ours["m"] = False  # meanwhile, the job went to another process
    await time.advance(2)
    assert screen.sent == [("m", "🧠 writing")]
    ours["m"] = True
    show(reporter, screen, "m", "🎨 painting")
    await time.advance(2)
    assert screen.sent == [("m", "🧠 writing"), ("m", "🎨 painting")]
