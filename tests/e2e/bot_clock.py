"""Time a test moves, for a bot under test: its deadlines and token lifetimes follow a
clock that passes only when the test says, never the machine's speed."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.app import Clocks
from bot.jobs.local_line import LocalLine
from bot.studio import utc_now
from tests.clocks import ManualClock


class BotClock(ManualClock):
    """One time for a bot's dates (`utc`) and its seconds (its line's and runner's), as
    `start_bot(clocks=clock.clocks)` hands them in. It starts at the real time, for the
    tokens of the fake Discord's interactions, whose ids tell the real time; `advance` moves
    it on and lets the lines it drives look at it again at once."""

    def __init__(self) -> None:
        super().__init__()
        self._origin = utc_now(), self.now
        self._lines: list[LocalLine] = []

    @property
    def clocks(self) -> Clocks:
        return Clocks(dates=self.utc, seconds=self)

    def utc(self) -> datetime:
        start, at = self._origin
        return start + timedelta(seconds=self.now - at)

    def drive(self, line: object) -> None:
        """`line` (a bot's LocalLine) reads this clock: it looks again whenever it moves."""
        assert isinstance(line, LocalLine)
        self._lines.append(line)

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        for line in self._lines:
            line.poke()
