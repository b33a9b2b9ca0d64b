"""Scenarios with the bot in this process: a burst, a sustained stream, Discord calls per
picture, and pacing under the provider's rate limit. Each returns a `Result`."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from bench.figures import Result, Target, latency_ms, ms
from bench.options import Options
from bench.stage import (
    Setup,
    Stage,
    ack_latencies,
    burst,
    calls_since,
    discord_429s_since,
    has_picture,
    imagine,
    picture_latencies,
    wait_pictures,
)
from tests.fakes.discord_api import FakeInteraction

DISCORD_ACK_WINDOW_MS = 3000.0  # Discord drops an interaction not answered within 3 s
BURST_ACK_P99_MS = 100.0  # the goal for a burst: everyone sees "thinking…" at once
KINDS = ("callback", "interaction_webhook", "channel_messages", "other")


def _deadline(requests: int, options: Options, per_picture: float | None = None) -> float:
    """A generous time limit for `requests` pictures to be posted."""
    latency = options.image_latency if per_picture is None else per_picture
    return 60 + 3 * requests * max(latency, 0.05) / options.concurrency


def _calls(counts: Counter[str], pictures: int) -> dict[str, float]:
    """Discord REST calls in total, per picture, and per kind per picture."""
    total = sum(counts.values())
    figures: dict[str, float] = {
        "discord_calls": total,
        "discord_calls_per_picture": round(total / max(pictures, 1), 2),
    }
    for kind in KINDS:
        figures[f"calls_{kind}_per_picture"] = round(counts[kind] / max(pictures, 1), 2)
    return figures


@dataclass
class _Burst:
    """What one burst left behind: the interactions, how long until every picture showed,
    and the REST calls and 429s from its start until the bot's jobs had all ended."""

    interactions: list[FakeInteraction]
    total: float
    counts: Counter[str]
    discord_429s: int
    provider_429s: int


async def _fire(options: Options, requests: int) -> _Burst:
    """`requests` /imagine at once, one person each, until every job has ended."""
    setup = Setup(
        people=requests,
        concurrency=options.concurrency,
        image_latency=options.image_latency,
        partial_images=options.partial_images,
    )
    async with Stage(setup) as stage:
        started = time.monotonic()
        interactions = await burst(stage.discord, stage.people)
        await wait_pictures(interactions, _deadline(requests, options))
        total = time.monotonic() - started
        await stage.drain()
        return _Burst(
            interactions,
            total,
            calls_since(stage.discord, started),
            discord_429s_since(stage.discord, started),
            len(stage.openai.rate_limited),
        )


async def run_burst(options: Options) -> Result:
    """`requests` /imagine at once, one person each."""
    fired = await _fire(options, options.requests)
    interactions, total, counts = fired.interactions, fired.total, fired.counts
    discord_429s, provider_429s = fired.discord_429s, fired.provider_429s
    acks, pictures = ack_latencies(interactions), picture_latencies(interactions)
    result = Result(
        "burst",
        f"{options.requests} × /imagine at once, {options.concurrency} painting, "
        f"image latency {options.image_latency:g} s",
        {
            "requests": options.requests,
            "concurrency": options.concurrency,
            "image_latency_s": options.image_latency,
            "partial_images": options.partial_images,
        },
    )
    result.figures = {
        **latency_ms(acks, "ack", 50, 95, 99),
        **latency_ms(pictures, "picture", 50, 95),
        "total_s": round(total, 2),
        "pictures": len(pictures),
        **_calls(counts, len(pictures)),
        "discord_429s": discord_429s,
        "provider_429s": provider_429s,
    }
    result.targets = [
        Target("ack_p99_ms", BURST_ACK_P99_MS),
        Target("ack_max_ms", DISCORD_ACK_WINDOW_MS),
    ]
    result.series = {"ack_s": acks, "picture_s": pictures}
    result.notes = [
        "ack: INTERACTION_CREATE sent → the deferral reached the fake Discord; "
        "picture: INTERACTION_CREATE → the edit showing the picture reached it.",
    ]
    return result


async def _sample_queue(
    stage: Stage, fired: list[FakeInteraction], started: float, samples: list[list[float]]
) -> None:
    """Every 0.1 s: [seconds since start, requests without a picture yet, jobs waiting]."""
    while True:
        outstanding = sum(1 for i in fired if not has_picture(i))
        samples.append(
            [round(time.monotonic() - started, 2), outstanding, await stage.line_waiting()]
        )
        await asyncio.sleep(0.1)


def _bounded(samples: list[list[float]], span: float, slack: int) -> bool:
    """The queue does not grow: in the last third of the stream, requests without a picture
    never exceed the first third's peak plus `slack`."""
    first = [s[1] for s in samples if s[0] <= span / 3]
    last = [s[1] for s in samples if 2 * span / 3 <= s[0] <= span]
    return bool(first and last) and max(last) <= max(first) + slack


def _growth(samples: list[list[float]], span: float) -> float:
    """Least-squares slope of requests without a picture over the stream (per second)."""
    points = [(s[0], s[1]) for s in samples if s[0] <= span]
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_q = sum(q for _, q in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (q - mean_q) for t, q in points) / spread if spread else 0.0


async def run_stream(options: Options) -> Result:
    """Requests arriving evenly at `stream_rate` per second for `stream_seconds`."""
    count = round(options.stream_rate * options.stream_seconds)
    setup = Setup(
        people=count,
        concurrency=options.concurrency,
        image_latency=options.image_latency,
        partial_images=options.partial_images,
    )
    fired: list[FakeInteraction] = []
    samples: list[list[float]] = []
    async with Stage(setup) as stage:
        started = time.monotonic()
        sampler = asyncio.create_task(_sample_queue(stage, fired, started, samples))
        for n, person in enumerate(stage.people):
            await asyncio.sleep(max(0.0, started + n / options.stream_rate - time.monotonic()))
            fired.append(await imagine(stage.discord, person, n))
        await wait_pictures(fired, _deadline(count, options))
        total = time.monotonic() - started
        sampler.cancel()
        await stage.drain()
        counts = calls_since(stage.discord, started)
        discord_429s = discord_429s_since(stage.discord, started)
    pictures = picture_latencies(fired)
    result = Result(
        "stream",
        f"{options.stream_rate:g} /imagine per second for {options.stream_seconds:g} s, "
        f"{options.concurrency} painting, image latency {options.image_latency:g} s",
        {
            "rate_per_s": options.stream_rate,
            "seconds": options.stream_seconds,
            "requests": count,
            "concurrency": options.concurrency,
            "image_latency_s": options.image_latency,
            "partial_images": options.partial_images,
        },
    )
    span = options.stream_seconds
    result.figures = {
        **latency_ms(ack_latencies(fired), "ack", 50, 99),
        **latency_ms(pictures, "picture", 50, 95),
        "total_s": round(total, 2),
        "pictures": len(pictures),
        "throughput_per_s": round(len(pictures) / total, 2),
        "queue_peak": max((s[1] for s in samples), default=0),
        "line_waiting_peak": max((s[2] for s in samples), default=0),
        "queue_growth_per_s": round(_growth(samples, span), 3) + 0.0,  # never "-0"
        "queue_bounded": _bounded(samples, span, options.concurrency),
        **_calls(counts, len(pictures)),
        "discord_429s": discord_429s,
    }
    result.targets = [
        Target("ack_p99_ms", DISCORD_ACK_WINDOW_MS),
        Target("queue_bounded", 1, False),
    ]
    result.series = {"queue": samples, "picture_s": pictures}
    result.notes = [
        "queue: requests acknowledged but not yet showing their picture, sampled every 0.1 s; "
        "bounded = in the last third of the stream it never exceeds the first third's peak "
        "plus IMAGE_CONCURRENCY; growth = least-squares slope over the stream.",
    ]
    return result


async def run_calls(options: Options) -> Result:
    """Discord REST calls per picture, and 429s, for a burst against Discord's limits."""
    fired = await _fire(options, options.calls_requests)
    counts, discord_429s = fired.counts, fired.discord_429s
    pictures = sum(1 for i in fired.interactions if has_picture(i))
    result = Result(
        "calls",
        f"Discord calls per picture: {options.calls_requests} × /imagine at once, "
        f"{options.concurrency} painting, Discord's rate limits on",
        {
            "requests": options.calls_requests,
            "concurrency": options.concurrency,
            "image_latency_s": options.image_latency,
            "partial_images": options.partial_images,
        },
    )
    result.figures = {
        "pictures": pictures,
        **_calls(counts, pictures),
        **{f"calls_{kind}": counts[kind] for kind in KINDS},
        "discord_429s": discord_429s,
    }
    result.targets = [Target("discord_calls_per_picture", 8), Target("discord_429s", 0)]
    result.notes = [
        "calls: every REST call the fake Discord received from the first /imagine until the "
        "bot's jobs had all ended, 429s included (callback = the deferral; "
        "interaction_webhook = edits of the loading message).",
    ]
    return result


def _windows(times: list[float], window: float, backlog_end: float) -> list[int]:
    """Images per consecutive `window` from the first image, for the windows that ended by
    `backlog_end`."""
    if not times:
        return []
    start, counts = times[0], []
    while start + window <= backlog_end:
        counts.append(sum(1 for t in times if start <= t < start + window))
        start += window
    return counts


async def run_pacing(options: Options) -> Result:
    """A backlog from a few people against a provider limit the bot is told about."""
    limit = (options.pacing_images, options.pacing_window)
    setup = Setup(
        people=options.pacing_people,
        concurrency=options.concurrency,
        image_latency=options.image_latency,
        partial_images=options.partial_images,
        provider_limit=limit,
        bot_rate_limit=options.pacing_limit,
    )
    async with Stage(setup) as stage:
        per_person = -(-options.pacing_requests // options.pacing_people)
        requesters = (stage.people * per_person)[: options.pacing_requests]
        started = time.monotonic()
        interactions = await burst(stage.discord, requesters)
        expected = options.pacing_requests * options.pacing_window / options.pacing_images
        await wait_pictures(interactions, 60 + 2 * expected)
        total = time.monotonic() - started
        await stage.drain()
        images = sorted(stage.openai.image_times)
        refused = sorted(r.at for r in stage.openai.rate_limited)
        discord_429s = discord_429s_since(stage.discord, started)
    windows = _windows(images, options.pacing_window, images[-1] if images else 0.0)
    share = 100 * sum(windows) / (len(windows) * options.pacing_images) if windows else 0.0
    result = Result(
        "pacing",
        f"{options.pacing_requests} /imagine from {options.pacing_people} people at once; "
        f"provider limit {options.pacing_limit}, IMAGE_RATE_LIMIT the same",
        {
            "requests": options.pacing_requests,
            "people": options.pacing_people,
            "limit_images": options.pacing_images,
            "limit_seconds": options.pacing_window,
            "concurrency": options.concurrency,
            "image_latency_s": options.image_latency,
        },
    )
    result.figures = {
        "pictures": sum(1 for i in interactions if has_picture(i)),
        "provider_429s": len(refused),
        "limit_share_pct": round(share, 1),
        "windows_counted": len(windows),
        "total_s": round(total, 2),
        "ideal_total_s": round(
            (-(-options.pacing_requests // options.pacing_images) - 1) * options.pacing_window
            + options.image_latency,
            2,
        ),
        "discord_429s": discord_429s,
    }
    result.targets = [Target("provider_429s", 0), Target("limit_share_pct", 95, False)]
    result.series = {
        "image_times_s": [round(t - images[0], 3) for t in images] if images else [],
        "refused_times_s": [round(t - images[0], 3) for t in refused] if images else [],
        "images_per_window": windows,
        "first_image_after_ms": ms(images[0] - started) if images else None,
    }
    result.notes = [
        f"limit share: the images the provider accepted in consecutive "
        f"{options.pacing_window:g} s windows starting at its first accepted image, over the "
        "windows that ended before its last accepted image (work was still queued throughout "
        f"them), divided by windows × {options.pacing_images}.",
    ]
    return result
