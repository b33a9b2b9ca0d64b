"""The bot as its own process (`python -m bot run`), so its CPU time and memory can be read
from /proc without the fakes' share (the fakes and the bench stay in this process)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import deque
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[1]
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_KEPT_LINES = 200


class BotProcess:
    """`python -m bot run` with `env` as its only settings, started in `cwd`.

    With `profile`, the bot runs under `bench.profiled_bot`: `profile_on()` and
    `profile_off()` start and stop cProfile in it, which then writes its stats to `profile`.
    """

    def __init__(self, cwd: Path, env: dict[str, str], *, profile: Path | None = None) -> None:
        self.cwd, self.env, self.profile = cwd, env, profile
        self.lines: deque[str] = deque(maxlen=_KEPT_LINES)
        self.process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> BotProcess:
        kept = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        module = ["-m", "bench.profiled_bot", str(self.profile)] if self.profile else ["-m", "bot"]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *module,
            "run",
            cwd=self.cwd,
            env={**kept, "PYTHONPATH": str(REPO), **self.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout and self.process.stderr
        self._readers = [
            asyncio.create_task(self._read(s)) for s in (self.process.stdout, self.process.stderr)
        ]
        return self

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.lines.append(line.decode(errors="replace"))

    async def wait_for_line(self, text: str, within: float = 60) -> None:
        """Until the bot has logged a line containing `text`."""
        async with asyncio.timeout(within):
            while not any(text in line for line in self.lines):
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError("the bot exited:\n" + "".join(self.lines))
                await asyncio.sleep(0.05)

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

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await asyncio.gather(*self._readers)
