"""The bot as its own process (`python -m bot run`), so its CPU time and memory can be read
from /proc without the fakes' share (the fakes and the bench stay in this process)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from tests.e2e.process import BotProcess as TestBotProcess

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BotProcess(TestBotProcess):
    """`python -m bot run` with `env` as its settings, started in `cwd`, whose CPU time and
    memory can be read.

    With `profile`, the bot runs under `bench.profiled_bot`: `profile_on()` and
    `profile_off()` start and stop cProfile in it, which then writes its stats to `profile`.
    """

    def __init__(self, cwd: Path, env: dict[str, str], *, profile: Path | None = None) -> None:
        super().__init__(cwd, **env)
        self.profile = profile
        if profile is not None:
            self.command = ("-m", "bench.profiled_bot", str(profile), "run")

    @property
    def pid(self) -> int:
        """The bot's process id."""
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the bot has used so far, all its threads."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # fields 3.. of proc(5); 14, 15 = utime, stime
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def memory_mb(self) -> dict[str, float]:
        """Resident memory now (`VmRSS`) and at its peak so far (`VmHWM`), in MB (10^6 B)."""
        found: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = round(int(value.split()[0]) * 1024 / 1e6, 1)
        return {"rss_mb": found["VmRSS"], "peak_rss_mb": found["VmHWM"]}

    async def settled_cpu(self, quiet: float = 0.3, within: float = 10) -> float:
        """The bot's CPU time once it stopped using any for `quiet` seconds (its jobs'
        last database writes are done)."""
        last = self.cpu_seconds()
        async with asyncio.timeout(within):
            while True:
                await asyncio.sleep(quiet)
                now = self.cpu_seconds()
                if now == last:
                    return now
                last = now

    def profile_on(self) -> None:
        """Start the profiler in the bot (only with `profile`)."""
        os.kill(self.pid, signal.SIGUSR1)

    def profile_off(self) -> None:
        """Stop the profiler and write its stats (only with `profile`)."""
        os.kill(self.pid, signal.SIGUSR2)
