"""Picasso's benchmark: the real bot against the fake Discord and fake OpenAI on loopback.

Scenarios (all by default, or name some):
  burst   many /imagine at once: acknowledgement and time-to-picture percentiles
  stream  a steady stream of /imagine: latencies, and whether the queue stays bounded
  calls   Discord REST calls per picture and Discord 429s, Discord's rate limits on
  pacing  a backlog under the provider's image rate limit: provider 429s, share of the limit used
  cpu     the bot's CPU per picture (bot in its own process, instant provider)
  rss     the bot's resident memory idle and after many jobs (bot in its own process)

Run by hand from the repository root (never in CI), e.g.:

    python -m bench --json bench.json --plot bench.png
    python -m bench burst --requests 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bench.figures import Result
from bench.footprint import run_cpu, run_rss
from bench.options import Options
from bench.plot import can_plot, draw
from bench.scale import run_scale
from bench.scenarios import run_burst, run_calls, run_pacing, run_stream

SCENARIOS: dict[str, Callable[[Options], Coroutine[Any, Any, Result]]] = {
    "burst": run_burst,
    "stream": run_stream,
    "calls": run_calls,
    "pacing": run_pacing,
    "cpu": run_cpu,
    "rss": run_rss,
    "scale": run_scale,
}
_FLAGS: dict[str, tuple[type, str]] = {
    "concurrency": (int, "IMAGE_CONCURRENCY in every scenario"),
    "image_latency": (float, "the fake image model's latency, s (cpu/rss: always 0)"),
    "partial_images": (int, "PARTIAL_IMAGES (streamed previews; 0 = none)"),
    "requests": (int, "burst: requests at once"),
    "stream_rate": (float, "stream: requests per second"),
    "stream_seconds": (float, "stream: seconds the requests keep coming"),
    "calls_requests": (int, "calls: requests at once"),
    "pacing_requests": (int, "pacing: backlog size"),
    "pacing_people": (int, "pacing: people sharing it (at most 5 jobs in flight each)"),
    "pacing_images": (int, "pacing: provider limit, images …"),
    "pacing_window": (float, "pacing: … per this many seconds"),
    "cpu_requests": (int, "cpu: requests at once"),
    "cpu_warmup": (int, "cpu: pictures made before measuring"),
    "rss_jobs": (int, "rss: jobs before memory is read"),
    "rss_batch": (int, "rss: jobs sent at once"),
    "scale_requests": (int, "scale: requests at once through a gateway and 1, then 2 workers"),
    "scale_concurrency": (int, "scale: IMAGE_CONCURRENCY across the workers"),
}


def parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"any of {', '.join(SCENARIOS)}"
    )
    defaults = Options()
    for name, (kind, text) in _FLAGS.items():
        default = getattr(defaults, name)
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=default,
            help=f"{text} (default {default})",
        )
    parser.add_argument("--profile", type=Path, help="cpu: write a cProfile of the bot here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--plot", type=Path, help="draw a PNG here (needs matplotlib)")
    return parser


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def print_result(result: Result) -> None:
    """One scenario as an aligned table, each target's verdict beside its figure."""
    verdicts = {v["figure"]: v for v in result.verdicts()}
    print(f"\n== {result.name}: {result.title}")
    width = max(len(name) for name in result.figures)
    for name, value in result.figures.items():
        verdict = verdicts.get(name)
        mark = ""
        if verdict is not None:
            mark = f"   target {verdict['target']}: " + (
                "met" if verdict["met"] else f"MISSED by {_value(verdict['miss_by'])}"
            )
        print(f"  {name:<{width}}  {_value(value):>10}{mark}")
    for note in result.notes:
        print(f"  · {note}")
    for line in result.series.get("top_costs", []):
        print(f"    {line}")


def run(names: Sequence[str], options: Options) -> tuple[dict[str, Result], list[str]]:
    """Run the named scenarios one after another, each on its own event loop."""
    results: dict[str, Result] = {}
    failed: list[str] = []
    for name in names:
        print(f"running {name} …", file=sys.stderr, flush=True)
        try:
            results[name] = asyncio.run(SCENARIOS[name](options))
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        print_result(results[name])
    return results, failed


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exits 1 if a scenario could not run."""
    args = parser().parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser().error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    names = args.scenarios or list(SCENARIOS)
    options = Options(profile=args.profile, **{name: getattr(args, name) for name in _FLAGS})
    logging.basicConfig(level=logging.ERROR)
    results, failed = run(names, options)
    if args.json:
        body = {"options": {k: str(v) for k, v in vars(options).items()}, "failed": failed}
        body["scenarios"] = {name: result.as_json() for name, result in results.items()}
        args.json.write_text(json.dumps(body, indent=2, default=str))
        print(f"\nfigures written to {args.json}")
    if args.plot:
        if can_plot():
            draw(results, args.plot)
            print(f"plot written to {args.plot}")
        else:
            print("plot skipped: matplotlib is not installed (pip install -e .)")
    return 1 if failed else 0
