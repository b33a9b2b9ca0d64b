"""`python -m bot` as a real process against the fakes, for tests of the command line,
signals and restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parents[2]
# Settings a developer's environment may hold; a bot under test gets only what a test gives.
SETTINGS = (
    "DISCORD_TOKEN",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DISCORD_API_BASE_URL",
    "DEV_GUILD_ID",
    "DATABASE_URL",
)


class BotProcess:
    """`python -m bot` running in the background, its output collected line by line."""

    command: tuple[str, ...] = ("-m", "bot")  # what `python` runs

    def __init__(self, cwd: Path, **env: str) -> None:
        self.cwd, self.env = cwd, env
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.command,
            cwd=self.cwd,
            env={**clean, "PYTHONPATH": str(REPO), **self.env},
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

    async def wait_for_line(self, text: str, within: float = 30) -> None:
        """Until the bot has logged a line containing `text` (it must not exit first)."""
        async with asyncio.timeout(within):
            while not any(text in line for line in self.lines):
                if self.process is not None and self.process.returncode is not None:
                    raise AssertionError("the bot exited:\n" + "".join(self.lines[-40:]))
                await asyncio.sleep(0.05)

    async def stop(self, signum: int = signal.SIGINT, within: float = 30) -> int:
        """Send `signum` and wait for the process to end; returns its exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signum)
        await self.__aexit__(within=within)
        assert self.process.returncode is not None
        return self.process.returncode

    async def __aexit__(self, *exc: object, within: float = 30) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            await asyncio.gather(*self._readers)
            tail = "".join(self.lines[-40:])
            raise AssertionError(f"the bot did not stop within {within} s:\n{tail}") from None
        await asyncio.gather(*self._readers)

    @property
    def output(self) -> str:
        return "".join(self.lines)
