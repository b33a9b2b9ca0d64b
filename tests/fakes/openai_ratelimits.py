"""OpenAI's image rate limit, as the fake OpenAI enforces it (FACTS.md, "Rate limits").

A moving window: at most ``images`` images in any ``seconds``-long stretch, so a burst can be
refused while the minute's total is still under the limit. Each image of a request (``n``)
counts. A refused request counts nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

ImageRateLimit = tuple[int, float]
"""(images, seconds): at most that many images in any window that long."""


def duration(seconds: float) -> str:
    """OpenAI's ``x-ratelimit-reset-*`` format: ``120ms``, ``1.5s``, ``1m30s``."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


@dataclass
class ImageWindow:
    """The accepted images' times (monotonic clock, one entry per image)."""

    times: list[float] = field(default_factory=list)

    def in_window(self, limit: ImageRateLimit, now: float) -> list[float]:
        """Times of the images still inside the window that ends now, oldest first."""
        return [t for t in self.times if t > now - limit[1]]

    def wait(self, limit: ImageRateLimit, n: int, now: float) -> float | None:
        """Seconds until ``n`` more images fit, or None if they fit now."""
        images, seconds = limit
        recent = self.in_window(limit, now)
        over = len(recent) + n - images
        if over <= 0:
            return None
        if over > len(recent):  # more than the whole limit: never fits, say a full window
            return seconds
        return recent[over - 1] + seconds - now

    def take(self, n: int, now: float) -> None:
        """Record ``n`` accepted images."""
        self.times.extend([now] * n)

    def headers(self, limit: ImageRateLimit, now: float) -> dict[str, str]:
        """``x-ratelimit-*-images`` headers as they stand now."""
        images, seconds = limit
        recent = self.in_window(limit, now)
        reset = recent[-1] + seconds - now if recent else 0.0
        return {
            "x-ratelimit-limit-images": str(images),
            "x-ratelimit-remaining-images": str(max(0, images - len(recent))),
            "x-ratelimit-reset-images": duration(reset),
        }

    def refusal(
        self, limit: ImageRateLimit, n: int, model: str, wait: float, now: float
    ) -> tuple[str, dict[str, str]]:
        """The message and headers of the 429 for a request of ``n`` images."""
        images, seconds = limit
        used = len(self.in_window(limit, now))
        per = "min (IPM)" if seconds == 60 else f"{seconds:g}s"
        message = (
            f"Rate limit reached for {model or 'images'} in organization org-fake on images "
            f"per {per}: Limit {images}, Used {used}, Requested {n}. Please try again in "
            f"{duration(wait)}. Visit https://platform.openai.com/account/rate-limits to learn "
            "more."
        )
        headers = {
            "retry-after-ms": str(math.ceil(wait * 1000)),
            "retry-after": str(max(1, math.ceil(wait))),
        }
        return message, headers
