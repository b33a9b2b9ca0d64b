"""Every knob of the benchmark, with the defaults `python -m bench` runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Options:
    """Scenario parameters (the command line fills them in; see `bench.run`)."""

    concurrency: int = 4  # IMAGE_CONCURRENCY in every scenario
    image_latency: float = 0.5  # the fake image model's answer time (s), but for cpu/rss
    partial_images: int = 0  # PARTIAL_IMAGES (0: no streamed previews)
    requests: int = 200  # burst
    stream_rate: float = 2.0  # stream: requests per second
    stream_seconds: float = 60.0  # stream: how long requests keep coming
    calls_requests: int = 50  # calls: burst size
    pacing_requests: int = 30  # pacing: backlog size
    pacing_people: int = 6  # pacing: how many people share the backlog
    pacing_images: int = 6  # pacing: the provider's limit, images …
    pacing_window: float = 10.0  # … per this many seconds
    cpu_requests: int = 50  # cpu: burst size (instant provider)
    cpu_warmup: int = 4  # cpu: pictures made before measuring (first-use costs)
    rss_jobs: int = 500  # rss: jobs after which memory is read
    rss_batch: int = 50  # rss: jobs sent at once
    scale_requests: int = 120  # scale: burst size through the gateway and its workers
    scale_concurrency: int = 16  # scale: IMAGE_CONCURRENCY across every worker
    profile: Path | None = None  # cpu: write a cProfile of the bot during the burst here

    @property
    def pacing_limit(self) -> str:
        """The provider's limit in the bot's IMAGE_RATE_LIMIT notation."""
        return f"{self.pacing_images} per {self.pacing_window:g} seconds"
