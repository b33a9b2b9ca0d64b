"""The burst scenario under its old name: `python -m bench.defer_latency --requests 50
--image-latency 0.5` runs `python -m bench burst` with the same flags (see `bench.run`)."""

from __future__ import annotations

import sys

from bench.run import main as bench_main


def main() -> None:
    """Command-line entry point (kept for the README's older command)."""
    sys.exit(bench_main(["burst", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
