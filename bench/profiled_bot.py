"""`python -m bench.profiled_bot STATS_FILE [bot arguments]`: the bot, with cProfile switched
on by SIGUSR1 and off by SIGUSR2 (which writes the stats to STATS_FILE), so a profile covers
only the stretch being measured. It counts the main thread's CPU time (the event loop), not
wall time, so waiting in `epoll` costs nothing; work handed to threads (SQLite, Pillow) is
not in it."""

from __future__ import annotations

import cProfile
import signal
import sys
import time
from types import FrameType

from bot.__main__ import main as bot_main


def main() -> int:
    """Run the bot with the profiler switches installed."""
    stats_file, *bot_args = sys.argv[1:]
    profiler = cProfile.Profile(time.thread_time)

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    def stop(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(stats_file)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    return bot_main(bot_args)


if __name__ == "__main__":
    sys.exit(main())
